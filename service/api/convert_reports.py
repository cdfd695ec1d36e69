"""Reports as ReportService messages."""

from finance.v1 import report_service_pb2 as pb
from google.type import date_pb2, decimal_pb2

from service.api import names
from service.api.dates import to_proto_date
from service.api.exchange_rate_requests import decimal_text
from service.api.money import to_money
from service.domain.keys import AccountKey, CategoryKey, PayeeKey
from service.domain.reports import (
    CashFlowLine,
    CategoryReport,
    MonthLine,
    NetWorthPoint,
    PayeeLine,
)


def category_report_to_proto(report: CategoryReport, user_id: str) -> pb.CategoryReport:
    """The API form of a category report."""

    def name(category_id: str | None) -> str:
        return names.resource_name(CategoryKey(user_id, category_id)) if category_id else ""

    rows = [
        pb.CategoryReportRow(
            category=name(line.category_id),
            parent_category=name(line.parent_id),
            own_amount=to_money(line.own, line.currency_code),
            total_amount=to_money(line.total, line.currency_code),
        )
        for line in report.lines
    ]
    totals = [to_money(m.amount, m.currency_code) for m in report.totals]
    return pb.CategoryReport(rows=rows, totals=totals)


def income_expense_to_proto(lines: list[MonthLine]) -> pb.IncomeExpenseReport:
    """The API form of an income and expense report."""
    return pb.IncomeExpenseReport(
        rows=[
            pb.IncomeExpenseRow(
                month=date_pb2.Date(year=line.month.year, month=line.month.month),
                income=to_money(line.income, line.currency_code),
                expense=to_money(line.expense, line.currency_code),
                net=to_money(line.net, line.currency_code),
            )
            for line in lines
        ]
    )


def _point(point: NetWorthPoint) -> pb.NetWorthPoint:
    rates = [
        pb.ReportRate(
            base_currency_code=currency,
            quote_currency_code=found.stored.quote if not found.inverted else found.stored.base,
            exchange_rate=names.resource_name(found.stored.key),
            rate=decimal_pb2.Decimal(value=decimal_text(found.rate)),
            inverted=found.inverted,
        )
        for currency, found in sorted(point.rates.items())
        if found is not None
    ]
    return pb.NetWorthPoint(
        date=to_proto_date(point.day),
        balances=[to_money(b.amount, b.currency_code) for b in point.balances],
        converted=(
            to_money(point.converted.amount, point.converted.currency_code)
            if point.converted is not None
            else None
        ),
        rates=rates,
        missing_currency_codes=sorted(c for c, found in point.rates.items() if found is None),
    )


def net_worth_to_proto(points: list[NetWorthPoint]) -> pb.NetWorthReport:
    """The API form of a net worth report."""
    return pb.NetWorthReport(points=[_point(p) for p in points])


def cash_flow_to_proto(lines: list[CashFlowLine], user_id: str) -> pb.CashFlowReport:
    """The API form of a cash flow report."""
    return pb.CashFlowReport(
        rows=[
            pb.CashFlowRow(
                account=names.resource_name(AccountKey(user_id, line.account_id)),
                inflow=to_money(line.inflow, line.currency_code),
                outflow=to_money(line.outflow, line.currency_code),
                net=to_money(line.net, line.currency_code),
            )
            for line in lines
        ]
    )


def top_payees_to_proto(lines: list[PayeeLine], user_id: str) -> pb.TopPayeesReport:
    """The API form of a top payees report."""
    return pb.TopPayeesReport(
        rows=[
            pb.TopPayeeRow(
                payee=names.resource_name(PayeeKey(user_id, line.payee_id)),
                spending=to_money(line.spending, line.currency_code),
                transaction_count=line.transactions,
            )
            for line in lines
        ]
    )
