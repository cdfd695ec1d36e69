"""Validating ReportService requests into report scopes."""

from finance.v1 import report_service_pb2 as pb

from service.api import names
from service.api.category_requests import KINDS_BY_PROTO
from service.api.dates import parse_date
from service.api.filtering import parse_filter, resolve_references
from service.api.money import parse_currency
from service.api.transaction_requests import TRANSACTION_REFERENCES
from service.api.validation import Violations
from service.domain.categories import CategoryKind
from service.domain.reports import (
    DEFAULT_MAX_PAYEES,
    MAX_PAYEES,
    ReportScope,
    check_period,
)

# Every report request: each has parent, start_date, end_date and filter.
ReportRequest = (
    pb.GetCategoryReportRequest
    | pb.GetIncomeExpenseReportRequest
    | pb.GetNetWorthReportRequest
    | pb.GetCashFlowReportRequest
    | pb.GetTopPayeesReportRequest
)


def _scope(request: ReportRequest, violations: Violations) -> ReportScope | None:
    """The owner, period and filter of `request`, its violations added to `violations`."""
    owner = violations.check(lambda: names.parse_user_name(request.parent, "parent"))
    start = violations.check(
        lambda: parse_date(request.start_date, "start_date", present=request.HasField("start_date"))
    )
    end = violations.check(
        lambda: parse_date(request.end_date, "end_date", present=request.HasField("end_date"))
    )
    if start is not None and end is not None:
        violations.check(lambda: check_period(start, end))
    expression = violations.check(
        lambda: resolve_references(parse_filter(request.filter), TRANSACTION_REFERENCES)
    )
    if owner is None or start is None or end is None:
        return None
    return ReportScope(owner, start, end, expression)


def parse_scope(request: ReportRequest) -> ReportScope:
    """The scope of a report request without fields of its own. Raises InvalidArgument."""
    violations = Violations()
    scope = _scope(request, violations)
    violations.raise_if_any()
    assert scope is not None
    return scope


def parse_category(request: pb.GetCategoryReportRequest) -> tuple[ReportScope, CategoryKind]:
    """The scope and kind (spending or income) of a GetCategoryReport request."""
    violations = Violations()
    scope = _scope(request, violations)
    kind = KINDS_BY_PROTO.get(request.kind)
    if kind is None:
        violations.add("kind", "is required: KIND_EXPENSE or KIND_INCOME")
    violations.raise_if_any()
    assert scope is not None
    assert kind is not None
    return scope, kind


def parse_net_worth(request: pb.GetNetWorthReportRequest) -> tuple[ReportScope, str | None]:
    """The scope and the currency to convert into (None: none) of a GetNetWorthReport."""
    violations = Violations()
    scope = _scope(request, violations)
    target = None
    if request.currency_code:
        target = violations.check(lambda: parse_currency(request.currency_code, "currency_code"))
    violations.raise_if_any()
    assert scope is not None
    return scope, target


def parse_top_payees(request: pb.GetTopPayeesReportRequest) -> tuple[ReportScope, int]:
    """The scope and the number of payees per currency of a GetTopPayeesReport request."""
    violations = Violations()
    scope = _scope(request, violations)
    if not 0 <= request.max_payees <= MAX_PAYEES:
        violations.add(
            "max_payees", f"must be between 0 (for {DEFAULT_MAX_PAYEES}) and {MAX_PAYEES}"
        )
    violations.raise_if_any()
    assert scope is not None
    return scope, request.max_payees or DEFAULT_MAX_PAYEES
