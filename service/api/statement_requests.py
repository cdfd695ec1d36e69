"""Validating StatementService requests into reconciliations, and statements into messages."""

from dataclasses import dataclass

from finance.v1 import statement_service_pb2 as pb

from service.api import names
from service.api.callers import Metadata
from service.api.convert import timestamp
from service.api.dates import parse_date, to_proto_date
from service.api.ledger_request_parts import request_caller
from service.api.money import parse_amount, to_money
from service.api.validation import Violations, format_etag
from service.domain.audit import Caller
from service.domain.models import Money
from service.domain.statements import Figures, Outcome, Reconciliation, Statement, StatementState

STATES = {
    StatementState.RECONCILED: pb.Statement.STATE_RECONCILED,
    StatementState.UNRECONCILED: pb.Statement.STATE_UNRECONCILED,
}


@dataclass(frozen=True)
class Reconcile:
    """A validated ReconcileAccount request."""

    reconciliation: Reconciliation
    caller: Caller


def parse_reconcile(request: pb.ReconcileAccountRequest, metadata: Metadata | None) -> Reconcile:
    """The account, statement date and closing balance of a ReconcileAccount request."""
    violations = Violations()
    account = violations.check(lambda: names.parse_account_name(request.account, "account"))
    statement_date = violations.check(
        lambda: parse_date(
            request.statement_date,
            "statement_date",
            present=request.HasField("statement_date"),
        )
    )
    closing = None
    if not request.HasField("closing_balance"):
        violations.add("closing_balance", "is required")
    else:
        closing = violations.check(lambda: parse_amount(request.closing_balance, "closing_balance"))
    caller = request_caller(violations, request.request_id, metadata)
    violations.raise_if_any()
    assert account is not None
    assert statement_date is not None
    assert closing is not None
    reconciliation = Reconciliation(
        account, statement_date, Money(*closing), validate_only=request.validate_only
    )
    return Reconcile(reconciliation, caller)


def figures_to_proto(figures: Figures) -> pb.Statement:
    """The figures of a statement, as a Statement message without a name."""
    currency = figures.currency_code
    return pb.Statement(
        statement_date=to_proto_date(figures.statement_date),
        opening_balance=to_money(figures.opening_balance, currency),
        closing_balance=to_money(figures.closing_balance, currency),
        cleared_balance=to_money(figures.cleared_balance, currency),
        difference=to_money(figures.difference, currency),
        posting_count=figures.posting_count,
    )


def statement_to_proto(statement: Statement) -> pb.Statement:
    """The API form of a statement kept."""
    message = figures_to_proto(statement.figures)
    message.name = names.resource_name(statement.key)
    message.state = STATES[statement.state]
    message.create_time.CopyFrom(timestamp(statement.create_time))
    message.update_time.CopyFrom(timestamp(statement.update_time))
    message.etag = format_etag(statement.revision)
    return message


def outcome_to_proto(outcome: Outcome) -> pb.ReconcileAccountResponse:
    """The statement kept, or the figures of one that was not."""
    if outcome.statement is None:
        return pb.ReconcileAccountResponse(statement=figures_to_proto(outcome.figures))
    return pb.ReconcileAccountResponse(
        statement=statement_to_proto(outcome.statement), reconciled=True
    )
