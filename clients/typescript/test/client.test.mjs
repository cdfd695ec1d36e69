// The SDK against a live finance-tracker server: FINANCE_TRACKER_ADDRESS=host:port npm test
// (the project's pytest starts a server and runs this; see tests/test_typescript_sdk.py).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import {
  Account_Type,
  Budget_Period,
  Budget_Style,
  Category_Kind,
  Code,
  DEFAULT_TIMEOUT_MS,
  ConnectError,
  Occurrence_State,
  RecurringTransaction_State,
  Schedule_Frequency,
  TransactionTemplate_Kind,
  Statement_State,
  Transaction_State,
  createFinanceClient,
  fieldViolations,
  paginate,
  resourceInfo,
} from "../src/index.js";

const address = process.env.FINANCE_TRACKER_ADDRESS;
const skip = address
  ? false
  : "FINANCE_TRACKER_ADDRESS is not set: run against a server, e.g. FINANCE_TRACKER_ADDRESS=127.0.0.1:50051 npm test";

const ACTOR = "typescript-sdk-test";

/** @param {bigint} units @param {number} [nanos] */
const eur = (units, nanos = 0) => ({ currencyCode: "EUR", units, nanos });

/** @param {{ units: bigint, nanos: number } | undefined} money */
const asCents = (money) => {
  assert.ok(money, "an amount was expected");
  return Number(money.units) * 100 + money.nanos / 10_000_000;
};

describe("finance-tracker TypeScript SDK", { skip }, () => {
  const client = createFinanceClient({ baseUrl: address ?? "", actor: ACTOR });
  let parent = "";
  let checking = "";
  let savings = "";
  /** @type {string[]} */
  const recorded = [];

  before(async () => {
    const user = await client.users.createUser({ user: { displayName: "TypeScript SDK" } });
    parent = user.name;
    assert.match(parent, /^users\/.+/);
  });

  after(() => {
    // Nothing to close: the HTTP/2 session is unreferenced when idle, so node can exit.
  });

  test("creates two EUR accounts, one with an opening balance", async () => {
    const first = await client.accounts.createAccount({
      parent,
      account: {
        displayName: "Checking",
        type: Account_Type.ASSET,
        currencyCode: "EUR",
        openingBalance: eur(100n),
      },
      requestId: randomUUID(),
    });
    const second = await client.accounts.createAccount({
      parent,
      account: { displayName: "Savings", type: Account_Type.ASSET, currencyCode: "EUR" },
    });
    checking = first.name;
    savings = second.name;
    assert.equal(asCents(first.balance), 100_00);
    assert.equal(first.balance?.units, 100n);
    assert.equal(second.balance?.units ?? 0n, 0n);
  });

  test("records an expense and a transfer", async () => {
    const expense = await client.transactions.recordExpense({
      parent,
      account: checking,
      amount: eur(12n, 500_000_000),
      bookingDate: { year: 2024, month: 1, day: 31 },
      description: "Lunch",
      requestId: randomUUID(),
    });
    assert.equal(expense.state, Transaction_State.POSTED);
    assert.equal(expense.postings.reduce((sum, p) => sum + asCents(p.amount), 0), 0);
    assert.ok(expense.postings.some((p) => p.account === checking && asCents(p.amount) === -12_50));

    const transfer = await client.transactions.transferFunds({
      parent,
      fromAccount: checking,
      toAccount: savings,
      amount: eur(30n),
      bookingDate: { year: 2024, month: 2, day: 1 },
      description: "Save",
      requestId: randomUUID(),
    });
    assert.equal(transfer.state, Transaction_State.POSTED);
    recorded.push(expense.name, transfer.name);

    const [afterChecking, afterSavings] = await Promise.all([
      client.accounts.getAccount({ name: checking }),
      client.accounts.getAccount({ name: savings }),
    ]);
    assert.equal(asCents(afterChecking.balance), 100_00 - 12_50 - 30_00);
    assert.equal(asCents(afterSavings.balance), 30_00);
  });

  test("plans a budget and reads its status", async () => {
    const food = await client.categories.createCategory({
      parent,
      category: { displayName: "Food", kind: Category_Kind.EXPENSE },
    });
    const budget = await client.budgets.createBudget({
      parent,
      budget: {
        displayName: "Monthly",
        style: Budget_Style.PERIOD_LIMITS,
        currencyCode: "EUR",
        period: Budget_Period.MONTH,
        startDate: { year: 2024, month: 1, day: 1 },
        lines: [{ category: food.name, amount: eur(20n) }],
      },
    });
    const status = await client.budgets.getBudgetStatus({
      name: budget.name,
      asOfDate: { year: 2024, month: 1, day: 31 },
    });
    assert.deepEqual(
      status.lines.map((line) => [line.category, asCents(line.available), line.over]),
      [[food.name, 20_00, false]],
    );
  });

  test("reports the expense and the transfer", async () => {
    const period = { parent, startDate: { year: 2024, month: 1, day: 1 }, endDate: { year: 2024, month: 2, day: 29 } };
    const spending = await client.reports.getCategoryReport({ ...period, kind: Category_Kind.EXPENSE });
    assert.deepEqual(spending.totals.map(asCents), [12_50]);
    const flows = await client.reports.getCashFlowReport(period);
    const bySavings = flows.rows.find((r) => r.account === savings);
    assert.equal(asCents(bySavings?.inflow), 30_00);
  });

  test("lists transactions one per page, following next_page_token", async () => {
    const all = await client.transactions.listTransactions({ parent, pageSize: 50 });
    assert.equal(all.nextPageToken, "");
    // The opening balance is a transaction of its own, besides the expense and the transfer.
    assert.equal(all.transactions.length, 3);
    for (const name of recorded) {
      assert.ok(all.transactions.some((t) => t.name === name), `${name} is listed`);
    }

    /** @type {string[]} */
    const seen = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await client.transactions.listTransactions({ parent, pageSize: 1, pageToken });
      pages += 1;
      assert.ok(page.transactions.length <= 1, "page_size 1 returns at most one");
      seen.push(...page.transactions.map((t) => t.name));
      pageToken = page.nextPageToken;
      assert.ok(pages <= 10, "pagination ends");
    } while (pageToken !== "");
    assert.deepEqual(seen, all.transactions.map((t) => t.name), "same order, no gaps or repeats");

    const viaHelper = [];
    for await (const page of paginate(client.transactions.listTransactions, { parent, pageSize: 2 })) {
      viaHelper.push(...page.transactions.map((t) => t.name));
    }
    assert.deepEqual(viaHelper, seen);
  });

  test("schedules a monthly expense and lists its coming occurrences", async () => {
    const recurring = await client.recurringTransactions.createRecurringTransaction({
      parent,
      recurringTransaction: {
        template: {
          kind: TransactionTemplate_Kind.EXPENSE,
          account: checking,
          amount: eur(9n),
          description: "Streaming",
        },
        schedule: {
          frequency: Schedule_Frequency.MONTHLY,
          startDate: { year: 2024, month: 1, day: 31 },
          count: 3,
        },
      },
    });
    assert.equal(recurring.state, RecurringTransaction_State.ACTIVE);
    const { occurrences } = await client.recurringTransactions.listUpcomingOccurrences({
      name: recurring.name,
      startDate: { year: 2024, month: 1, day: 1 },
      endDate: { year: 2024, month: 12, day: 31 },
    });
    assert.deepEqual(
      occurrences.map((o) => [o.bookingDate?.month, o.bookingDate?.day, o.state]),
      [
        [1, 31, Occurrence_State.SCHEDULED],
        [2, 29, Occurrence_State.SCHEDULED],
        [3, 31, Occurrence_State.SCHEDULED],
      ],
    );
  });

  test("filters transactions", async () => {
    // amount is the sum of the positive postings: 12.50 (expense), 30 (transfer), 100 (opening).
    const listed = await client.transactions.listTransactions({
      parent,
      filter: "amount >= 10 AND amount < 50",
      orderBy: "amount",
    });
    assert.deepEqual(listed.transactions.map((t) => t.name), recorded);

    const lunch = await client.transactions.listTransactions({
      parent,
      filter: 'description:"Lunch" AND booking_date = "2024-01-31"',
    });
    assert.deepEqual(lunch.transactions.map((t) => t.description), ["Lunch"]);
  });

  test("decodes the field violations of a bad request", async () => {
    /** @type {unknown} */
    let caught;
    try {
      await client.accounts.createAccount({
        parent,
        account: { displayName: "", type: Account_Type.ASSET, currencyCode: "EUX" },
      });
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ConnectError, `a ConnectError, not ${caught}`);
    assert.equal(caught.code, Code.InvalidArgument);
    const violations = fieldViolations(caught);
    const fields = violations.map((v) => v.field);
    assert.ok(fields.includes("account.display_name"), `violations: ${fields}`);
    assert.ok(fields.includes("account.currency_code"), `violations: ${fields}`);
    const currency = violations.find((v) => v.field === "account.currency_code");
    assert.match(currency?.description ?? "", /EUX/);
  });

  test("names a missing resource", async () => {
    await assert.rejects(client.accounts.getAccount({ name: `${parent}/accounts/missing` }), (error) => {
      assert.ok(error instanceof ConnectError);
      assert.equal(error.code, Code.NotFound);
      assert.ok(resourceInfo(error).length > 0, "ResourceInfo detail");
      assert.deepEqual(fieldViolations(error), []);
      return true;
    });
  });

  test("records an exchange rate and looks up its inverse", async () => {
    await client.exchangeRates.createExchangeRate({
      parent,
      exchangeRate: {
        baseCurrencyCode: "USD",
        quoteCurrencyCode: "EUR",
        rateDate: { year: 2024, month: 3, day: 1 },
        rate: { value: "0.8" },
      },
    });
    const found = await client.exchangeRates.lookupExchangeRate({
      parent,
      baseCurrencyCode: "EUR",
      quoteCurrencyCode: "USD",
      asOfDate: { year: 2024, month: 3, day: 31 },
    });
    assert.deepEqual([found.rate?.value, found.inverted], ["1.25", true]);
  });

  test("reconciles an account against its statement", async () => {
    const account = await client.accounts.createAccount({
      parent,
      account: { displayName: "Reconciled", type: Account_Type.ASSET, currencyCode: "EUR" },
      requestId: randomUUID(),
    });
    const response = await client.statements.reconcileAccount({
      account: account.name,
      statementDate: { year: 2024, month: 1, day: 31 },
      closingBalance: eur(0n),
      requestId: randomUUID(),
    });
    assert.equal(response.reconciled, true);
    assert.equal(response.statement?.state, Statement_State.RECONCILED);
    const listed = await client.statements.listStatements({ parent: account.name });
    assert.deepEqual(listed.statements.map((s) => s.name), [response.statement?.name]);
  });

  test("records the actor in the audit trail", async () => {
    const events = await client.audit.listAuditEvents({ parent, pageSize: 100 });
    assert.ok(events.auditEvents.length > 0);
    assert.ok(events.auditEvents.some((e) => e.actorNote === ACTOR), "x-actor reached the server");
  });

  test("sends a deadline with every call", async () => {
    /** @type {(string | null)[]} */
    const sent = [];
    const watched = createFinanceClient({
      baseUrl: address ?? "",
      interceptors: [(next) => async (request) => {
        sent.push(request.header.get("grpc-timeout"));
        return next(request);
      }],
    });
    await watched.users.getUser({ name: parent });
    await watched.users.getUser({ name: parent }, { timeoutMs: 2500 });
    assert.deepEqual(sent, [`${DEFAULT_TIMEOUT_MS}m`, "2500m"]);
  });
});
