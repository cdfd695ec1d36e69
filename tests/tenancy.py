"""Requests that name another user's resource: one per method and request field that names a
user's resource, and the fields the descriptors say there are, so that none is left out."""

import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from finance.v1 import account_service_pb2 as apb
from finance.v1 import audit_service_pb2
from finance.v1 import audit_service_pb2_grpc as audit_grpc
from finance.v1 import budget_service_pb2 as bpb
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import exchange_rate_service_pb2 as xpb
from finance.v1 import member_service_pb2 as mpb
from finance.v1 import payee_service_pb2 as ppb
from finance.v1 import recurring_transaction_service_pb2 as recpb
from finance.v1 import rule_service_pb2 as rpb
from finance.v1 import statement_service_pb2 as spb
from finance.v1 import transaction_service_pb2 as tpb
from google.api import field_behavior_pb2, resource_pb2
from google.protobuf.descriptor import Descriptor, FileDescriptor
from google.type import date_pb2, decimal_pb2

from tests.builders import (
    EXPENSE,
    create_category,
    create_payee,
    create_recurring,
    create_user,
    day,
    leg,
    money,
    monthly_expense,
)
from tests.resources import Clients, mask

USER_TYPE = "finance-tracker/User"

# Fields that name a user's resource but are never looked up, and why.
NOT_READ = {
    # A transaction's accounts never change: an update reads only its postings' categories
    # and memos.
    ("TransactionService.UpdateTransaction", "transaction.postings.account"),
}


_WORLDS = itertools.count()


@dataclass(frozen=True)
class World:
    """One user's resources, all real: two accounts with a posted and a pending transfer
    between them, a category, a payee, a member and a recurring expense."""

    user: str
    account: apb.Account
    other_account: apb.Account
    category: cpb.Category
    payee: ppb.Payee
    posted: tpb.Transaction
    pending: tpb.Transaction
    member: mpb.Member
    recurring: recpb.RecurringTransaction
    exchange_rate: xpb.ExchangeRate
    rule: rpb.Rule
    statement: spb.Statement
    budget: bpb.Budget

    def name_of(self, target: str) -> str:
        """The resource name of this user's `target` (account, category, posted...)."""
        resource = getattr(self, target)
        name: str = resource.name
        return name


async def build_world(c: Clients) -> World:
    """A new user with one resource of every kind."""
    user = (await create_user(c.users, "Tenant")).name
    account, other = [
        await c.accounts.CreateAccount(
            apb.CreateAccountRequest(
                parent=user,
                account=apb.Account(
                    display_name=n, type=apb.Account.TYPE_ASSET, currency_code="EUR"
                ),
            )
        )
        for n in ("Checking", "Savings")
    ]
    posted, pending = [
        await c.transactions.CreateTransaction(
            tpb.CreateTransactionRequest(
                parent=user,
                transaction=tpb.Transaction(
                    booking_date=day(10),
                    postings=[leg(account, -units), leg(other, units)],
                    state=state,
                ),
            )
        )
        for units, state in ((5, tpb.Transaction.STATE_POSTED), (3, tpb.Transaction.STATE_PENDING))
    ]
    category = await create_category(c.categories, user)
    payee = await create_payee(c.payees, user)
    member = await c.members.CreateMember(
        mpb.CreateMemberRequest(
            parent=user,
            member=mpb.Member(principal=f"accountant-of-{user}", role=mpb.Member.ROLE_VIEWER),
        )
    )
    recurring = await create_recurring(c.recurring, user, monthly_expense(account.name))
    # A rate's id is its pair and day: each world's is of another day, so that their id under
    # the caller's user names nothing of the caller's.
    serial = next(_WORLDS)
    exchange_rate = await c.exchange_rates.CreateExchangeRate(
        xpb.CreateExchangeRateRequest(
            parent=user,
            exchange_rate=xpb.ExchangeRate(
                base_currency_code="EUR",
                quote_currency_code="USD",
                rate_date=day(serial % 28 + 1, serial // 28 % 12 + 1, 2000 + serial // 336),
                rate=decimal_pb2.Decimal(value="1.1"),
            ),
        )
    )
    rule = await c.rules.CreateRule(rpb.CreateRuleRequest(parent=user, rule=_rule()))
    reconciled = await c.statements.ReconcileAccount(
        spb.ReconcileAccountRequest(
            account=account.name, statement_date=day(31), closing_balance=money(0)
        )
    )
    budget = await c.budgets.CreateBudget(
        bpb.CreateBudgetRequest(parent=user, budget=_limits(category.name))
    )
    return World(
        user,
        account,
        other,
        category,
        payee,
        posted,
        pending,
        member,
        recurring,
        exchange_rate,
        rule,
        reconciled.statement,
        budget,
    )


def _rule(actions: rpb.RuleActions | None = None, **conditions: Any) -> rpb.Rule:
    """A valid rule with `conditions` (a description unless told) and `actions` (adding a tag
    unless told)."""
    return rpb.Rule(
        display_name="Rule",
        conditions=rpb.RuleConditions(**(conditions or {"description_contains": "bakery"})),
        actions=actions or rpb.RuleActions(add_tags=["tagged"]),
    )


def _update_rule(me: World, path: str, rule: rpb.Rule) -> rpb.UpdateRuleRequest:
    """An update of the caller's rule to `rule`'s `path`."""
    rule.name = me.rule.name
    return rpb.UpdateRuleRequest(rule=rule, update_mask=mask(path))


def _limits(category: str = "", **fields: Any) -> bpb.Budget:
    """A monthly budget with a line for `category` (none when empty), and `fields`."""
    lines = [bpb.Budget.Line(category=category, amount=money(1))] if category else []
    values: dict[str, Any] = {
        "display_name": "Monthly",
        "style": bpb.Budget.STYLE_PERIOD_LIMITS,
        "currency_code": "EUR",
        "period": bpb.Budget.PERIOD_MONTH,
        "start_date": day(1),
        "lines": lines,
        **fields,
    }
    return bpb.Budget(**values)


def _envelopes(category: str) -> bpb.Budget:
    """An envelope budget assigning 1 EUR to `category` in January 2024."""
    month = date_pb2.Date(year=2024, month=1)
    assignment = bpb.Budget.Assignment(month=month, category=category, amount=money(1))
    return bpb.Budget(
        display_name="Envelopes",
        style=bpb.Budget.STYLE_ENVELOPES,
        currency_code="EUR",
        start_date=day(1),
        assignments=[assignment],
    )


async def snapshot(c: Clients, audit: "audit_grpc.AuditServiceAsyncStub", user: str) -> list[Any]:
    """Everything of `user` a caller can read, audit trail included."""
    accounts = await c.accounts.ListAccounts(apb.ListAccountsRequest(parent=user, page_size=1000))
    categories = await c.categories.ListCategories(
        cpb.ListCategoriesRequest(parent=user, page_size=1000)
    )
    payees = await c.payees.ListPayees(ppb.ListPayeesRequest(parent=user, page_size=1000))
    transactions = await c.transactions.ListTransactions(
        tpb.ListTransactionsRequest(parent=user, page_size=1000)
    )
    members = await c.members.ListMembers(mpb.ListMembersRequest(parent=user, page_size=1000))
    recurring = await c.recurring.ListRecurringTransactions(
        recpb.ListRecurringTransactionsRequest(parent=user, page_size=1000)
    )
    rates = await c.exchange_rates.ListExchangeRates(
        xpb.ListExchangeRatesRequest(parent=user, page_size=1000)
    )
    rules = await c.rules.ListRules(rpb.ListRulesRequest(parent=user, page_size=1000))
    statements = [
        list(
            (
                await c.statements.ListStatements(
                    spb.ListStatementsRequest(parent=a.name, page_size=1000)
                )
            ).statements
        )
        for a in accounts.accounts
    ]
    budgets = await c.budgets.ListBudgets(bpb.ListBudgetsRequest(parent=user, page_size=1000))
    events = await audit.ListAuditEvents(
        audit_service_pb2.ListAuditEventsRequest(parent=user, page_size=1000)
    )
    return [
        list(accounts.accounts),
        list(categories.categories),
        list(payees.payees),
        list(transactions.transactions),
        list(members.members),
        list(rates.exchange_rates),
        list(rules.rules),
        statements,
        list(budgets.budgets),
        list(recurring.recurring_transactions),
        list(events.audit_events),
    ]


# The resource type and collection of each kind of target.
TARGETS = {
    "account": ("finance-tracker/Account", "accounts"),
    "category": ("finance-tracker/Category", "categories"),
    "payee": ("finance-tracker/Payee", "payees"),
    "posted": ("finance-tracker/Transaction", "transactions"),
    "pending": ("finance-tracker/Transaction", "transactions"),
    "member": ("finance-tracker/Member", "members"),
    "recurring": ("finance-tracker/RecurringTransaction", "recurringTransactions"),
    "exchange_rate": ("finance-tracker/ExchangeRate", "exchangeRates"),
    "rule": ("finance-tracker/Rule", "rules"),
    "statement": ("finance-tracker/Statement", "statements"),
    "budget": ("finance-tracker/Budget", "budgets"),
}

# (clients, the caller's world, the name of another user's resource) -> the call.
Call = Callable[[Clients, World, str], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    """A request of `method` whose `field` names another user's `target`, all else valid."""

    method: str  # Service.Method
    field: str  # the path of the field in the request, as the descriptors name it
    target: str  # a field of World
    call: Call
    # Set where a field other than a name names what the method acts on (the account a
    # statement is reconciled or listed for): the resource's own user is then the request's.
    acts_on: bool = False

    @property
    def addresses(self) -> bool:
        """Whether the field names the resource the method acts on (not one it refers to)."""
        return self.acts_on or self.field.split(".")[-1] == "name"

    @property
    def resource_type(self) -> str:
        """The type NOT_FOUND names."""
        return TARGETS[self.target][0]

    def foreign_name(self, mine: World, theirs: World, *, under_mine: bool) -> str:
        """Their target's ids under the caller's user, or its own name."""
        name = theirs.name_of(self.target)
        if not under_mine:
            return name
        return mine.user + name.removeprefix(theirs.user)

    def __str__(self) -> str:
        return f"{self.method.split('.')[1]}.{self.field}"


def _create(me: World, **fields: Any) -> tpb.CreateTransactionRequest:
    """A valid transfer of 1 EUR between the caller's accounts, with `fields`."""
    postings = fields.pop("postings", [leg(me.account, -1), leg(me.other_account, 1)])
    transaction = tpb.Transaction(booking_date=day(20), postings=postings, **fields)
    return tpb.CreateTransactionRequest(parent=me.user, transaction=transaction)


def _update(me: World, paths: str, **fields: Any) -> tpb.UpdateTransactionRequest:
    """An update of the caller's posted transaction."""
    transaction = tpb.Transaction(name=me.posted.name, **fields)
    return tpb.UpdateTransactionRequest(transaction=transaction, update_mask=mask(paths))


def _expense(me: World, **fields: Any) -> tpb.RecordExpenseRequest:
    values = {"account": me.account.name, "amount": money(1), "booking_date": day(20), **fields}
    return tpb.RecordExpenseRequest(parent=me.user, **values)


def _income(me: World, **fields: Any) -> tpb.RecordIncomeRequest:
    values = {"account": me.account.name, "amount": money(1), "booking_date": day(20), **fields}
    return tpb.RecordIncomeRequest(parent=me.user, **values)


def _transfer(me: World, **fields: Any) -> tpb.TransferFundsRequest:
    values = {
        "from_account": me.account.name,
        "to_account": me.other_account.name,
        "amount": money(1),
        "booking_date": day(20),
        **fields,
    }
    return tpb.TransferFundsRequest(parent=me.user, **values)


def _template(me: World, **fields: Any) -> recpb.TransactionTemplate:
    """A monthly expense's template from the caller's account, with `fields`."""
    values = {
        "kind": recpb.TransactionTemplate.KIND_EXPENSE,
        "account": me.account.name,
        "amount": money(1),
        **fields,
    }
    return recpb.TransactionTemplate(**values)


def _transfer_template(me: World, **fields: Any) -> recpb.TransactionTemplate:
    values = {"to_account": me.other_account.name, **fields}
    return _template(me, kind=recpb.TransactionTemplate.KIND_TRANSFER, **values)


def _create_recurring(
    me: World, template: recpb.TransactionTemplate
) -> recpb.CreateRecurringTransactionRequest:
    return recpb.CreateRecurringTransactionRequest(
        parent=me.user, recurring_transaction=monthly_expense("", template=template)
    )


def _update_recurring(
    me: World, template: recpb.TransactionTemplate, name: str = ""
) -> recpb.UpdateRecurringTransactionRequest:
    recurring = recpb.RecurringTransaction(name=name or me.recurring.name, template=template)
    return recpb.UpdateRecurringTransactionRequest(
        recurring_transaction=recurring, update_mask=mask("template")
    )


A, CAT, P, TX = "AccountService", "CategoryService", "PayeeService", "TransactionService"
M, X, R, S, B, RT = (
    "MemberService",
    "ExchangeRateService",
    "RuleService",
    "StatementService",
    "BudgetService",
    "RecurringTransactionService",
)
CASES = [
    Case(f"{B}.CreateBudget", "budget.lines.category", "category",
         lambda c, me, n: c.budgets.CreateBudget(
             bpb.CreateBudgetRequest(parent=me.user, budget=_limits(n)))),
    Case(f"{B}.CreateBudget", "budget.assignments.category", "category",
         lambda c, me, n: c.budgets.CreateBudget(
             bpb.CreateBudgetRequest(parent=me.user, budget=_envelopes(n)))),
    Case(f"{B}.GetBudget", "name", "budget",
         lambda c, me, n: c.budgets.GetBudget(bpb.GetBudgetRequest(name=n))),
    Case(f"{B}.UpdateBudget", "budget.name", "budget",
         lambda c, me, n: c.budgets.UpdateBudget(bpb.UpdateBudgetRequest(
             budget=bpb.Budget(name=n, display_name="Mine now"),
             update_mask=mask("display_name")))),
    Case(f"{B}.UpdateBudget", "budget.lines.category", "category",
         lambda c, me, n: c.budgets.UpdateBudget(bpb.UpdateBudgetRequest(
             budget=_limits(n, name=me.budget.name), update_mask=mask("lines")))),
    Case(f"{B}.UpdateBudget", "budget.assignments.category", "category",
         lambda c, me, n: c.budgets.UpdateBudget(bpb.UpdateBudgetRequest(
             budget=bpb.Budget(name=me.budget.name, assignments=_envelopes(n).assignments),
             update_mask=mask("assignments")))),
    Case(f"{B}.DeleteBudget", "name", "budget",
         lambda c, me, n: c.budgets.DeleteBudget(bpb.DeleteBudgetRequest(name=n))),
    Case(f"{B}.GetBudgetStatus", "name", "budget",
         lambda c, me, n: c.budgets.GetBudgetStatus(
             bpb.GetBudgetStatusRequest(name=n, as_of_date=day(31)))),
    Case(f"{X}.GetExchangeRate", "name", "exchange_rate",
         lambda c, me, n: c.exchange_rates.GetExchangeRate(xpb.GetExchangeRateRequest(name=n))),
    Case(f"{X}.UpdateExchangeRate", "exchange_rate.name", "exchange_rate",
         lambda c, me, n: c.exchange_rates.UpdateExchangeRate(xpb.UpdateExchangeRateRequest(
             exchange_rate=xpb.ExchangeRate(name=n, rate=decimal_pb2.Decimal(value="9")),
             update_mask=mask("rate")))),
    Case(f"{X}.DeleteExchangeRate", "name", "exchange_rate",
         lambda c, me, n: c.exchange_rates.DeleteExchangeRate(
             xpb.DeleteExchangeRateRequest(name=n))),
    Case(f"{S}.ReconcileAccount", "account", "account",
         lambda c, me, n: c.statements.ReconcileAccount(spb.ReconcileAccountRequest(
             account=n, statement_date=day(1, month=2), closing_balance=money(0))),
         acts_on=True),
    Case(f"{S}.ListStatements", "parent", "account",
         lambda c, me, n: c.statements.ListStatements(spb.ListStatementsRequest(parent=n)),
         acts_on=True),
    Case(f"{S}.GetStatement", "name", "statement",
         lambda c, me, n: c.statements.GetStatement(spb.GetStatementRequest(name=n))),
    Case(f"{S}.UnreconcileStatement", "name", "statement",
         lambda c, me, n: c.statements.UnreconcileStatement(
             spb.UnreconcileStatementRequest(name=n))),
    Case(f"{M}.GetMember", "name", "member",
         lambda c, me, n: c.members.GetMember(mpb.GetMemberRequest(name=n))),
    Case(f"{M}.UpdateMember", "member.name", "member",
         lambda c, me, n: c.members.UpdateMember(mpb.UpdateMemberRequest(
             member=mpb.Member(name=n, role=mpb.Member.ROLE_OWNER), update_mask=mask("role")))),
    Case(f"{M}.DeleteMember", "name", "member",
         lambda c, me, n: c.members.DeleteMember(mpb.DeleteMemberRequest(name=n))),
    Case(f"{A}.GetAccount", "name", "account",
         lambda c, me, n: c.accounts.GetAccount(apb.GetAccountRequest(name=n))),
    Case(f"{A}.UpdateAccount", "account.name", "account",
         lambda c, me, n: c.accounts.UpdateAccount(apb.UpdateAccountRequest(
             account=apb.Account(name=n, display_name="Mine now"),
             update_mask=mask("display_name")))),
    Case(f"{A}.DeleteAccount", "name", "account",
         lambda c, me, n: c.accounts.DeleteAccount(apb.DeleteAccountRequest(name=n))),
    Case(f"{A}.ArchiveAccount", "name", "account",
         lambda c, me, n: c.accounts.ArchiveAccount(apb.ArchiveAccountRequest(name=n))),
    Case(f"{A}.UnarchiveAccount", "name", "account",
         lambda c, me, n: c.accounts.UnarchiveAccount(apb.UnarchiveAccountRequest(name=n))),
    Case(f"{A}.GetAccountBalance", "name", "account",
         lambda c, me, n: c.accounts.GetAccountBalance(
             apb.GetAccountBalanceRequest(name=n, as_of_date=day(31)))),
    Case(f"{A}.GetBalanceHistory", "name", "account",
         lambda c, me, n: c.accounts.GetBalanceHistory(
             apb.GetBalanceHistoryRequest(name=n, start_date=day(1), end_date=day(31)))),
    Case(f"{CAT}.CreateCategory", "category.parent", "category",
         lambda c, me, n: create_category(c.categories, me.user, "Sub", EXPENSE, under=n)),
    Case(f"{CAT}.GetCategory", "name", "category",
         lambda c, me, n: c.categories.GetCategory(cpb.GetCategoryRequest(name=n))),
    Case(f"{CAT}.UpdateCategory", "category.name", "category",
         lambda c, me, n: c.categories.UpdateCategory(cpb.UpdateCategoryRequest(
             category=cpb.Category(name=n, display_name="Mine now"),
             update_mask=mask("display_name")))),
    Case(f"{CAT}.UpdateCategory", "category.parent", "category",
         lambda c, me, n: c.categories.UpdateCategory(cpb.UpdateCategoryRequest(
             category=cpb.Category(name=me.category.name, parent=n),
             update_mask=mask("parent")))),
    Case(f"{CAT}.DeleteCategory", "name", "category",
         lambda c, me, n: c.categories.DeleteCategory(cpb.DeleteCategoryRequest(name=n))),
    Case(f"{P}.GetPayee", "name", "payee",
         lambda c, me, n: c.payees.GetPayee(ppb.GetPayeeRequest(name=n))),
    Case(f"{P}.UpdatePayee", "payee.name", "payee",
         lambda c, me, n: c.payees.UpdatePayee(ppb.UpdatePayeeRequest(
             payee=ppb.Payee(name=n, display_name="Mine now"),
             update_mask=mask("display_name")))),
    Case(f"{P}.DeletePayee", "name", "payee",
         lambda c, me, n: c.payees.DeletePayee(ppb.DeletePayeeRequest(name=n))),
    Case(f"{TX}.CreateTransaction", "transaction.payee", "payee",
         lambda c, me, n: c.transactions.CreateTransaction(_create(me, payee=n))),
    Case(f"{TX}.CreateTransaction", "transaction.postings.account", "account",
         lambda c, me, n: c.transactions.CreateTransaction(_create(me, postings=[
             leg(me.account, -1), tpb.Posting(account=n, amount=money(1))]))),
    Case(f"{TX}.CreateTransaction", "transaction.postings.category", "category",
         lambda c, me, n: c.transactions.CreateTransaction(_create(me, postings=[
             leg(me.account, -1), leg(me.other_account, 1, category=n)]))),
    Case(f"{TX}.GetTransaction", "name", "posted",
         lambda c, me, n: c.transactions.GetTransaction(tpb.GetTransactionRequest(name=n))),
    Case(f"{TX}.UpdateTransaction", "transaction.name", "posted",
         lambda c, me, n: c.transactions.UpdateTransaction(tpb.UpdateTransactionRequest(
             transaction=tpb.Transaction(name=n, description="Mine now"),
             update_mask=mask("description")))),
    Case(f"{TX}.UpdateTransaction", "transaction.payee", "payee",
         lambda c, me, n: c.transactions.UpdateTransaction(_update(me, "payee", payee=n))),
    Case(f"{TX}.UpdateTransaction", "transaction.postings.category", "category",
         lambda c, me, n: c.transactions.UpdateTransaction(_update(
             me, "postings.category", postings=[tpb.Posting(), tpb.Posting(category=n)]))),
    Case(f"{TX}.PostTransaction", "name", "pending",
         lambda c, me, n: c.transactions.PostTransaction(tpb.PostTransactionRequest(name=n))),
    Case(f"{TX}.VoidTransaction", "name", "pending",
         lambda c, me, n: c.transactions.VoidTransaction(tpb.VoidTransactionRequest(name=n))),
    Case(f"{TX}.ReverseTransaction", "name", "posted",
         lambda c, me, n: c.transactions.ReverseTransaction(tpb.ReverseTransactionRequest(name=n))),
    Case(f"{TX}.RecordExpense", "account", "account",
         lambda c, me, n: c.transactions.RecordExpense(_expense(me, account=n))),
    Case(f"{TX}.RecordExpense", "category", "category",
         lambda c, me, n: c.transactions.RecordExpense(_expense(me, category=n))),
    Case(f"{TX}.RecordExpense", "payee", "payee",
         lambda c, me, n: c.transactions.RecordExpense(_expense(me, payee=n))),
    Case(f"{TX}.RecordIncome", "account", "account",
         lambda c, me, n: c.transactions.RecordIncome(_income(me, account=n))),
    Case(f"{TX}.RecordIncome", "category", "category",
         lambda c, me, n: c.transactions.RecordIncome(_income(me, category=n))),
    Case(f"{TX}.RecordIncome", "payee", "payee",
         lambda c, me, n: c.transactions.RecordIncome(_income(me, payee=n))),
    Case(f"{TX}.TransferFunds", "from_account", "account",
         lambda c, me, n: c.transactions.TransferFunds(_transfer(me, from_account=n))),
    Case(f"{TX}.TransferFunds", "to_account", "account",
         lambda c, me, n: c.transactions.TransferFunds(_transfer(me, to_account=n))),
    Case(f"{RT}.CreateRecurringTransaction", "recurring_transaction.template.account", "account",
         lambda c, me, n: c.recurring.CreateRecurringTransaction(
             _create_recurring(me, _template(me, account=n)))),
    Case(f"{RT}.CreateRecurringTransaction", "recurring_transaction.template.to_account",
         "account",
         lambda c, me, n: c.recurring.CreateRecurringTransaction(
             _create_recurring(me, _transfer_template(me, to_account=n)))),
    Case(f"{RT}.CreateRecurringTransaction", "recurring_transaction.template.category",
         "category",
         lambda c, me, n: c.recurring.CreateRecurringTransaction(
             _create_recurring(me, _template(me, category=n)))),
    Case(f"{RT}.CreateRecurringTransaction", "recurring_transaction.template.payee", "payee",
         lambda c, me, n: c.recurring.CreateRecurringTransaction(
             _create_recurring(me, _template(me, payee=n)))),
    Case(f"{RT}.GetRecurringTransaction", "name", "recurring",
         lambda c, me, n: c.recurring.GetRecurringTransaction(
             recpb.GetRecurringTransactionRequest(name=n))),
    Case(f"{RT}.UpdateRecurringTransaction", "recurring_transaction.name", "recurring",
         lambda c, me, n: c.recurring.UpdateRecurringTransaction(
             _update_recurring(me, _template(me), name=n))),
    Case(f"{RT}.UpdateRecurringTransaction", "recurring_transaction.template.account",
         "account",
         lambda c, me, n: c.recurring.UpdateRecurringTransaction(
             _update_recurring(me, _template(me, account=n)))),
    Case(f"{RT}.UpdateRecurringTransaction", "recurring_transaction.template.to_account",
         "account",
         lambda c, me, n: c.recurring.UpdateRecurringTransaction(
             _update_recurring(me, _transfer_template(me, to_account=n)))),
    Case(f"{RT}.UpdateRecurringTransaction", "recurring_transaction.template.category",
         "category",
         lambda c, me, n: c.recurring.UpdateRecurringTransaction(
             _update_recurring(me, _template(me, category=n)))),
    Case(f"{RT}.UpdateRecurringTransaction", "recurring_transaction.template.payee", "payee",
         lambda c, me, n: c.recurring.UpdateRecurringTransaction(
             _update_recurring(me, _template(me, payee=n)))),
    Case(f"{RT}.DeleteRecurringTransaction", "name", "recurring",
         lambda c, me, n: c.recurring.DeleteRecurringTransaction(
             recpb.DeleteRecurringTransactionRequest(name=n))),
    Case(f"{RT}.PauseRecurringTransaction", "name", "recurring",
         lambda c, me, n: c.recurring.PauseRecurringTransaction(
             recpb.PauseRecurringTransactionRequest(name=n))),
    Case(f"{RT}.ResumeRecurringTransaction", "name", "recurring",
         lambda c, me, n: c.recurring.ResumeRecurringTransaction(
             recpb.ResumeRecurringTransactionRequest(name=n))),
    Case(f"{RT}.SkipOccurrence", "name", "recurring",
         lambda c, me, n: c.recurring.SkipOccurrence(
             recpb.SkipOccurrenceRequest(name=n, occurrence_date=day(31)))),
    Case(f"{RT}.ListUpcomingOccurrences", "name", "recurring",
         lambda c, me, n: c.recurring.ListUpcomingOccurrences(
             recpb.ListUpcomingOccurrencesRequest(name=n, start_date=day(1), end_date=day(31)))),
    Case(f"{R}.GetRule", "name", "rule",
         lambda c, me, n: c.rules.GetRule(rpb.GetRuleRequest(name=n))),
    Case(f"{R}.UpdateRule", "rule.name", "rule",
         lambda c, me, n: c.rules.UpdateRule(rpb.UpdateRuleRequest(
             rule=rpb.Rule(name=n, priority=1), update_mask=mask("priority")))),
    Case(f"{R}.DeleteRule", "name", "rule",
         lambda c, me, n: c.rules.DeleteRule(rpb.DeleteRuleRequest(name=n))),
    Case(f"{R}.TestRule", "name", "rule",
         lambda c, me, n: c.rules.TestRule(rpb.TestRuleRequest(name=n))),
    Case(f"{R}.CreateRule", "rule.conditions.payee", "payee",
         lambda c, me, n: c.rules.CreateRule(rpb.CreateRuleRequest(
             parent=me.user, rule=_rule(payee=n)))),
    Case(f"{R}.CreateRule", "rule.conditions.account", "account",
         lambda c, me, n: c.rules.CreateRule(rpb.CreateRuleRequest(
             parent=me.user, rule=_rule(account=n)))),
    Case(f"{R}.CreateRule", "rule.actions.set_category", "category",
         lambda c, me, n: c.rules.CreateRule(rpb.CreateRuleRequest(
             parent=me.user, rule=_rule(rpb.RuleActions(set_category=n))))),
    Case(f"{R}.CreateRule", "rule.actions.set_payee", "payee",
         lambda c, me, n: c.rules.CreateRule(rpb.CreateRuleRequest(
             parent=me.user, rule=_rule(rpb.RuleActions(set_payee=n))))),
    Case(f"{R}.UpdateRule", "rule.conditions.payee", "payee",
         lambda c, me, n: c.rules.UpdateRule(_update_rule(me, "conditions", _rule(payee=n)))),
    Case(f"{R}.UpdateRule", "rule.conditions.account", "account",
         lambda c, me, n: c.rules.UpdateRule(_update_rule(me, "conditions", _rule(account=n)))),
    Case(f"{R}.UpdateRule", "rule.actions.set_category", "category",
         lambda c, me, n: c.rules.UpdateRule(_update_rule(
             me, "actions", _rule(rpb.RuleActions(set_category=n))))),
    Case(f"{R}.UpdateRule", "rule.actions.set_payee", "payee",
         lambda c, me, n: c.rules.UpdateRule(_update_rule(
             me, "actions", _rule(rpb.RuleActions(set_payee=n))))),
]  # fmt: skip


def _fields(message: Descriptor, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every field of `message` and of the messages of this API nested in it, by path."""
    for field in message.fields:
        yield prefix + field.name, field
        nested = field.message_type
        if nested is not None and nested.full_name.startswith("finance.v1."):
            yield from _fields(nested, f"{prefix}{field.name}.")


def _names_a_users_resource(method: str, path: str, field: Any) -> bool:
    """Whether a request field names a resource under a user, for the server to look up."""
    options = field.GetOptions()
    behaviors = set(options.Extensions[field_behavior_pb2.field_behavior])
    if field_behavior_pb2.OUTPUT_ONLY in behaviors:
        return False
    if field_behavior_pb2.IDENTIFIER in behaviors:
        # The name of the resource an Update acts on; a Create names what it makes itself.
        resource = field.containing_type.GetOptions().Extensions[resource_pb2.resource]
        return not method.startswith("Create") and resource.type != USER_TYPE
    reference = options.Extensions[resource_pb2.resource_reference].type
    return bool(reference) and reference != USER_TYPE


def resource_name_fields(files: list[FileDescriptor]) -> set[tuple[str, str]]:
    """(Service.Method, field path) of every request field in `files` that names one of a
    user's resources and is read."""
    found = set()
    for file in files:
        for service in file.services_by_name.values():
            for method in service.methods:
                for path, field in _fields(method.input_type):
                    if _names_a_users_resource(method.name, path, field):
                        found.add((f"{service.name}.{method.name}", path))
    return found - NOT_READ
