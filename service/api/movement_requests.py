"""Validating the one-call ledger requests: RecordExpense, RecordIncome, TransferFunds."""

from dataclasses import dataclass, replace

from finance.v1 import transaction_service_pb2 as pb

from service.api import names
from service.api.callers import Metadata
from service.api.dates import parse_date
from service.api.ledger_request_parts import (
    child_id,
    owned,
    parse_owner,
    request_caller,
)
from service.api.money import parse_amount
from service.api.text import optional_text
from service.api.validation import Violations
from service.domain.audit import Caller
from service.domain.keys import UserKey
from service.domain.ledger import PostingDraft, TransactionDraft


def _simple_base(
    request: pb.RecordExpenseRequest | pb.RecordIncomeRequest | pb.TransferFundsRequest,
    violations: Violations,
) -> TransactionDraft | None:
    booking_date = violations.check(
        lambda: parse_date(
            request.booking_date, "booking_date", present=request.HasField("booking_date")
        )
    )
    description = violations.check(lambda: optional_text(request.description, "description", 500))
    if booking_date is None:
        return None
    return TransactionDraft(booking_date, (), description=description or "")


def _leg(
    account_name: str,
    account_field: str,
    money_field: str,
    request: object,
    owner: UserKey | None,
    violations: Violations,
) -> PostingDraft | None:
    account = violations.check(lambda: names.parse_account_name(account_name, account_field))
    if account is not None:
        owned(account, owner)
    if not request.HasField(money_field):  # type: ignore[attr-defined]
        violations.add(money_field, "is required")
        return None
    money = getattr(request, money_field)
    amount = violations.check(lambda: parse_amount(money, money_field))
    if account is None or amount is None:
        return None
    return PostingDraft(account.account_id, amount[0], amount[1])


@dataclass(frozen=True)
class Simple:
    """A validated RecordExpense or RecordIncome request."""

    owner: UserKey
    base: TransactionDraft
    account: PostingDraft
    category_id: str | None
    caller: Caller


def parse_simple(
    request: pb.RecordExpenseRequest | pb.RecordIncomeRequest, metadata: Metadata | None
) -> Simple:
    """The parts of a RecordExpense or RecordIncome request."""
    violations = Violations()
    owner = parse_owner(request.parent, violations)
    base = _simple_base(request, violations)
    account = _leg(request.account, "account", "amount", request, owner, violations)
    category = violations.check(
        lambda: child_id(request.category, names.parse_category_name, owner, "category")
    )
    payee = violations.check(
        lambda: child_id(request.payee, names.parse_payee_name, owner, "payee")
    )
    caller = request_caller(violations, request.request_id, metadata)
    violations.raise_if_any()
    assert owner is not None
    assert base is not None
    assert account is not None
    return Simple(owner, replace(base, payee_id=payee), account, category, caller)


@dataclass(frozen=True)
class Transfer:
    """A validated TransferFunds request."""

    owner: UserKey
    base: TransactionDraft
    source: PostingDraft
    destination: PostingDraft
    caller: Caller
    # Without `to_amount`, the destination receives `amount`.
    to_amount_given: bool


def parse_transfer(request: pb.TransferFundsRequest, metadata: Metadata | None) -> Transfer:
    """The parts of a TransferFunds request; `to_amount` defaults to `amount`."""
    violations = Violations()
    owner = parse_owner(request.parent, violations)
    base = _simple_base(request, violations)
    source = _leg(request.from_account, "from_account", "amount", request, owner, violations)
    to_field = "to_amount" if request.HasField("to_amount") else "amount"
    destination = _leg(request.to_account, "to_account", to_field, request, owner, violations)
    if request.state not in (
        pb.Transaction.STATE_UNSPECIFIED,
        pb.Transaction.STATE_PENDING,
        pb.Transaction.STATE_POSTED,
    ):
        violations.add("state", "may only be STATE_PENDING or STATE_POSTED")
    caller = request_caller(violations, request.request_id, metadata)
    violations.raise_if_any()
    assert owner is not None
    assert base is not None
    assert source is not None
    assert destination is not None
    pending = request.state == pb.Transaction.STATE_PENDING
    return Transfer(
        owner,
        replace(base, pending=pending),
        source,
        destination,
        caller,
        to_amount_given=request.HasField("to_amount"),
    )
