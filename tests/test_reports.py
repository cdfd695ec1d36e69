"""ReportService: each report's sums, which transactions count (posted only, both ends of the
period included, reversals netting out, the filter), and the requests it refuses."""

from typing import Any

import grpc
import pytest
from finance.v1 import account_service_pb2 as apb
from finance.v1 import exchange_rate_service_pb2 as xpb
from finance.v1 import report_service_pb2 as rpb
from finance.v1 import transaction_service_pb2 as tpb
from google.type import decimal_pb2

from tests.builders import (
    EXPENSE,
    INCOME,
    create_account,
    create_category,
    create_payee,
    create_user,
    day,
    money,
    own_id,
)
from tests.helpers import invalid_fields, rpc_error
from tests.reporting import Ledger, category_rows, open_ledger, span, units

POSTED, PENDING = tpb.Transaction.STATE_POSTED, tpb.Transaction.STATE_PENDING
JANUARY = span(day(1), day(31))


@pytest.fixture
async def ledger(books, clients) -> Ledger:
    return await open_ledger(books, clients)


async def _spending(reports: Any, ledger: Ledger, **fields: Any) -> rpb.CategoryReport:
    request = rpb.GetCategoryReportRequest(parent=ledger.user, kind=EXPENSE, **(JANUARY | fields))
    report: rpb.CategoryReport = await reports.GetCategoryReport(request)
    return report


class TestCategoryReport:
    async def test_rolls_each_category_up_into_its_ancestors(self, reports, ledger, categories):
        food = await create_category(categories, ledger.user, "Food")
        groceries = await create_category(categories, ledger.user, "Groceries", under=food.name)
        organic = await create_category(categories, ledger.user, "Organic", under=groceries.name)
        for amount, category in ((10, organic), (5, groceries), (2, food)):
            await ledger.expense(amount, day(10), category=category.name)
        await ledger.expense(3, day(10))
        report = await _spending(reports, ledger)
        f, g, o = own_id(food.name), own_id(groceries.name), own_id(organic.name)
        assert category_rows(report) == {
            f: ("", 2, 17),
            g: (f, 5, 15),
            o: (g, 10, 10),
            "": ("", 3, 3),
        }
        assert [units(t) for t in report.totals] == [("EUR", 20)]

    async def test_reports_an_ancestor_without_money_of_its_own(self, reports, ledger, categories):
        food = await create_category(categories, ledger.user, "Food")
        snacks = await create_category(categories, ledger.user, "Snacks", under=food.name)
        await ledger.expense(4, day(10), category=snacks.name)
        rows = category_rows(await _spending(reports, ledger))
        assert rows[own_id(food.name)] == ("", 0, 4)

    async def test_income_counts_only_income(self, reports, ledger, categories):
        salary = await create_category(categories, ledger.user, "Salary", INCOME)
        await ledger.income(300, day(5), category=salary.name)
        await ledger.expense(7, day(6))
        report = await reports.GetCategoryReport(
            rpb.GetCategoryReportRequest(parent=ledger.user, kind=INCOME, **JANUARY)
        )
        assert category_rows(report) == {own_id(salary.name): ("", 300, 300)}

    async def test_counts_both_ends_of_the_period_and_nothing_beyond(self, reports, ledger):
        for amount, when in ((1, day(31, 12, 2023)), (2, day(1)), (4, day(31)), (8, day(1, 2))):
            await ledger.expense(amount, when)
        report = await _spending(reports, ledger)
        assert [units(t) for t in report.totals] == [("EUR", 6)]

    async def test_counts_posted_transactions_only(self, reports, ledger, transactions):
        await ledger.spend_to_own(1, day(10), POSTED)
        await ledger.spend_to_own(2, day(10), PENDING)
        voided = await ledger.spend_to_own(4, day(10), PENDING)
        await transactions.VoidTransaction(tpb.VoidTransactionRequest(name=voided.name))
        report = await _spending(reports, ledger)
        assert [units(t) for t in report.totals] == [("EUR", 1)]

    async def test_a_reversal_nets_out_in_its_own_period(self, reports, ledger):
        reversed_in_january = await ledger.expense(10, day(5))
        await ledger.reverse(reversed_in_january, day(20))
        reversed_later = await ledger.expense(3, day(6))
        await ledger.reverse(reversed_later, day(2, 2))
        january = await _spending(reports, ledger)
        february = await _spending(reports, ledger, start_date=day(1, 2), end_date=day(29, 2))
        assert [units(t) for t in january.totals] == [("EUR", 3)]
        assert [units(t) for t in february.totals] == [("EUR", -3)]

    async def test_counts_only_what_the_filter_matches(self, reports, ledger, payees):
        bakery = await create_payee(payees, ledger.user, "Bakery")
        await ledger.expense(5, day(10), payee=bakery.name)
        await ledger.expense(7, day(10))
        report = await _spending(reports, ledger, filter=f'payee = "{bakery.name}"')
        assert [units(t) for t in report.totals] == [("EUR", 5)]

    async def test_keeps_currencies_apart(self, reports, ledger):
        dollars = await ledger.books.account("Dollars", "USD")
        await ledger.expense(5, day(10))
        await ledger.expense(9, day(10), account=dollars)
        report = await _spending(reports, ledger)
        assert [units(t) for t in report.totals] == [("EUR", 5), ("USD", 9)]

    async def test_refuses_a_report_without_a_kind(self, reports, user):
        request = rpb.GetCategoryReportRequest(parent=user.name, **JANUARY)
        assert await invalid_fields(reports.GetCategoryReport(request)) == {
            "kind": "is required: KIND_EXPENSE or KIND_INCOME"
        }


class TestPeriod:
    async def test_refuses_an_end_before_the_start(self, reports, user):
        request = rpb.GetCashFlowReportRequest(parent=user.name, **span(day(2), day(1)))
        violations = await invalid_fields(reports.GetCashFlowReport(request))
        assert violations == {"end_date": "must be on or after start_date"}

    async def test_takes_a_single_day(self, reports, ledger):
        await ledger.expense(5, day(2))
        request = rpb.GetCashFlowReportRequest(parent=ledger.user, **span(day(2), day(2)))
        [row] = (await reports.GetCashFlowReport(request)).rows
        assert units(row.outflow) == ("EUR", 5)

    async def test_spans_at_most_1200_months(self, reports, user):
        longest = rpb.GetIncomeExpenseReportRequest(
            parent=user.name, **span(day(1, 1, 2000), day(31, 12, 2099))
        )
        await reports.GetIncomeExpenseReport(longest)
        longer = rpb.GetIncomeExpenseReportRequest(
            parent=user.name, **span(day(1, 1, 2000), day(1, 1, 2100))
        )
        assert await invalid_fields(reports.GetIncomeExpenseReport(longer)) == {
            "end_date": "the period must span at most 1200 months"
        }

    async def test_names_every_invalid_field(self, reports):
        request = rpb.GetTopPayeesReportRequest(parent="users", filter="amount >", max_payees=-1)
        violations = await invalid_fields(reports.GetTopPayeesReport(request))
        assert set(violations) == {"parent", "start_date", "end_date", "filter", "max_payees"}

    async def test_refuses_a_filter_on_an_unknown_field(self, reports, user):
        request = rpb.GetCashFlowReportRequest(parent=user.name, filter="color = 1", **JANUARY)
        violations = await invalid_fields(reports.GetCashFlowReport(request))
        assert violations["filter"].startswith("invalid filter: unknown field")

    async def test_a_filter_naming_another_users_account_counts_nothing(
        self, reports, ledger, users, accounts
    ):
        await ledger.expense(5, day(10))
        other = await create_user(users, "Other")
        theirs = await create_account(accounts, other.name)
        mine_named = f"{ledger.user}/accounts/{own_id(theirs.name)}"
        for name in (theirs.name, mine_named):
            request = rpb.GetCashFlowReportRequest(
                parent=ledger.user, filter=f'account = "{name}"', **JANUARY
            )
            assert list((await reports.GetCashFlowReport(request)).rows) == []

    async def test_of_an_unknown_user_is_not_found(self, reports):
        request = rpb.GetCashFlowReportRequest(parent="users/nobody-here", **JANUARY)
        await rpc_error(reports.GetCashFlowReport(request), grpc.StatusCode.NOT_FOUND)


class TestIncomeExpenseReport:
    async def test_gives_every_month_of_the_period(self, reports, ledger):
        await ledger.income(100, day(31))
        await ledger.expense(30, day(1, 2))
        await ledger.expense(8, day(15, 4))
        await ledger.expense(99, day(16, 4))  # after the period
        request = rpb.GetIncomeExpenseReportRequest(parent=ledger.user, **span(day(31), day(15, 4)))
        rows = (await reports.GetIncomeExpenseReport(request)).rows
        assert [
            (r.month.year, r.month.month, r.month.day, r.income.units, r.expense.units, r.net.units)
            for r in rows
        ] == [
            (2024, 1, 0, 100, 0, 100),
            (2024, 2, 0, 0, 30, -30),
            (2024, 3, 0, 0, 0, 0),
            (2024, 4, 0, 0, 8, -8),
        ]

    async def test_is_empty_without_income_or_expense(self, reports, ledger):
        request = rpb.GetIncomeExpenseReportRequest(parent=ledger.user, **JANUARY)
        assert list((await reports.GetIncomeExpenseReport(request)).rows) == []


class TestNetWorthReport:
    async def test_gives_the_balance_at_each_month_end_and_the_end_date(self, reports, ledger):
        await ledger.expense(100, day(31))
        await ledger.expense(10, day(1, 2))
        await ledger.expense(1, day(16, 3))  # after the last point
        request = rpb.GetNetWorthReportRequest(parent=ledger.user, **span(day(15), day(15, 3)))
        points = (await reports.GetNetWorthReport(request)).points
        assert [((p.date.month, p.date.day), [units(b) for b in p.balances]) for p in points] == [
            ((1, 31), [("EUR", 900)]),
            ((2, 29), [("EUR", 890)]),
            ((3, 15), [("EUR", 890)]),
        ]
        assert [p.HasField("converted") for p in points] == [False] * 3

    async def test_subtracts_liabilities(self, reports, ledger):
        card = await ledger.books.account("Card", type=apb.Account.TYPE_LIABILITY)
        await ledger.expense(40, day(3), account=card)
        request = rpb.GetNetWorthReportRequest(parent=ledger.user, **span(day(31), day(31)))
        [point] = (await reports.GetNetWorthReport(request)).points
        assert [units(b) for b in point.balances] == [("EUR", 960)]

    async def test_converts_with_the_latest_rate_and_lists_those_missing(
        self, reports, ledger, exchange_rates
    ):
        await ledger.books.account(
            "Dollars", "USD", opening_balance=money(100, "USD"), opening_date=day(1, 1, 2020)
        )
        await exchange_rates.CreateExchangeRate(
            xpb.CreateExchangeRateRequest(
                parent=ledger.user,
                exchange_rate=xpb.ExchangeRate(
                    base_currency_code="EUR",
                    quote_currency_code="USD",
                    rate_date=day(1, 2),
                    rate=decimal_pb2.Decimal(value="1.25"),
                ),
            )
        )
        request = rpb.GetNetWorthReportRequest(
            parent=ledger.user, currency_code="EUR", **span(day(31), day(1, 2))
        )
        january, february = (await reports.GetNetWorthReport(request)).points
        assert not january.HasField("converted")
        assert list(january.missing_currency_codes) == ["USD"]
        # 100 USD at the inverse of 1.25 is 80 EUR.
        assert units(february.converted) == ("EUR", 1080)
        [rate] = february.rates
        assert (rate.base_currency_code, rate.quote_currency_code, rate.inverted) == (
            "USD",
            "EUR",
            True,
        )
        assert rate.rate.value == "0.8"
        assert list(february.missing_currency_codes) == []


class TestCashFlowReport:
    async def test_gives_inflow_outflow_and_net_per_account(self, reports, ledger):
        savings = await ledger.books.account("Savings")
        await ledger.income(50, day(3))
        await ledger.expense(20, day(4))
        await ledger.clients.transactions.TransferFunds(
            tpb.TransferFundsRequest(
                parent=ledger.user,
                from_account=ledger.checking.name,
                to_account=savings.name,
                amount=money(5),
                booking_date=day(5),
            )
        )
        rows = (
            await reports.GetCashFlowReport(
                rpb.GetCashFlowReportRequest(parent=ledger.user, **JANUARY)
            )
        ).rows
        flows = {r.account: (r.inflow.units, r.outflow.units, r.net.units) for r in rows}
        assert flows == {ledger.checking.name: (50, 25, 25), savings.name: (5, 0, 5)}


class TestTopPayeesReport:
    async def test_ranks_payees_by_spending_up_to_max_payees(self, reports, ledger, payees):
        names = {}
        for name, amounts in (("A", (5, 5)), ("B", (20,)), ("C", (1,))):
            payee = await create_payee(payees, ledger.user, name)
            names[payee.name] = name
            for amount in amounts:
                await ledger.expense(amount, day(10), payee=payee.name)
        request = rpb.GetTopPayeesReportRequest(parent=ledger.user, max_payees=2, **JANUARY)
        rows = (await reports.GetTopPayeesReport(request)).rows
        assert [(names[r.payee], r.spending.units, r.transaction_count) for r in rows] == [
            ("B", 20, 1),
            ("A", 10, 2),
        ]

    async def test_leaves_out_a_payee_whose_spending_was_reversed(self, reports, ledger, payees):
        payee = await create_payee(payees, ledger.user, "Refunded")
        await ledger.reverse(await ledger.expense(5, day(10), payee=payee.name), day(11))
        request = rpb.GetTopPayeesReportRequest(parent=ledger.user, **JANUARY)
        assert list((await reports.GetTopPayeesReport(request)).rows) == []

    async def test_takes_at_most_100_payees(self, reports, user):
        most = rpb.GetTopPayeesReportRequest(parent=user.name, max_payees=100, **JANUARY)
        await reports.GetTopPayeesReport(most)
        more = rpb.GetTopPayeesReportRequest(parent=user.name, max_payees=101, **JANUARY)
        assert await invalid_fields(reports.GetTopPayeesReport(more)) == {
            "max_payees": "must be between 0 (for 10) and 100"
        }
