"""Validating TransactionService requests into ledger drafts and changes."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TypeVar

from finance.v1 import transaction_service_pb2 as pb

from service.api import names
from service.api.bad_request import BadRequest
from service.api.callers import Metadata
from service.api.dates import parse_date
from service.api.ledger_request_parts import (
    child_id,
    owned,
    parse_named_change,
    parse_owner,
    request_caller,
)
from service.api.masks import update_paths
from service.api.money import parse_amount
from service.api.text import check_characters, optional_text
from service.api.validation import Violations, parse_etag
from service.domain.audit import Caller
from service.domain.keys import TransactionKey, UserKey
from service.domain.ledger import (
    ClearingStatus,
    PostingDraft,
    TransactionChanges,
    TransactionDraft,
)

T = TypeVar("T")

UPDATABLE = (
    "description",
    "payee",
    "notes",
    "tags",
    "postings.category",
    "postings.memo",
    "postings.clearing_status",
)
POSTING_FIELDS = frozenset({"postings.category", "postings.memo", "postings.clearing_status"})
MAX_TAGS = 20

_CLEARING_STATUSES = {
    pb.Posting.CLEARING_STATUS_UNCLEARED: ClearingStatus.UNCLEARED,
    pb.Posting.CLEARING_STATUS_CLEARED: ClearingStatus.CLEARED,
    pb.Posting.CLEARING_STATUS_RECONCILED: ClearingStatus.RECONCILED,
}


@dataclass(frozen=True)
class Create:
    """A validated request that records a transaction."""

    owner: UserKey
    draft: TransactionDraft
    caller: Caller


@dataclass(frozen=True)
class Change:
    """A validated request that changes one transaction."""

    key: TransactionKey
    caller: Caller
    expected_revision: int | None = None


def _posting(
    posting: pb.Posting, field: str, owner: UserKey | None, violations: Violations
) -> PostingDraft | None:
    account = violations.check(
        lambda: names.parse_account_name(posting.account, f"{field}.account")
    )
    if account is not None:
        owned(account, owner)
    amount = None
    if not posting.HasField("amount"):
        violations.add(f"{field}.amount", "is required")
    else:
        amount = violations.check(lambda: parse_amount(posting.amount, f"{field}.amount"))
    category = violations.check(
        lambda: child_id(posting.category, names.parse_category_name, owner, f"{field}.category")
    )
    memo = violations.check(lambda: optional_text(posting.memo, f"{field}.memo", 500))
    status = violations.check(lambda: _new_clearing_status(posting, f"{field}.clearing_status"))
    if account is None or amount is None:
        return None
    return PostingDraft(
        account.account_id,
        amount[0],
        amount[1],
        category,
        memo or "",
        clearing_status=status or ClearingStatus.UNCLEARED,
    )


def _clearing_status(posting: pb.Posting, field: str) -> ClearingStatus | None:
    """The status a posting is given; None for CLEARING_STATUS_UNSPECIFIED."""
    if posting.clearing_status == pb.Posting.CLEARING_STATUS_UNSPECIFIED:
        return None
    status = _CLEARING_STATUSES.get(posting.clearing_status)
    if status is None:
        raise BadRequest.single(field, f"{posting.clearing_status} is not a clearing status")
    return status


def _new_clearing_status(posting: pb.Posting, field: str) -> ClearingStatus | None:
    """The status of a posting to record: uncleared or cleared, as only a statement
    reconciles."""
    status = _clearing_status(posting, field)
    if status is ClearingStatus.RECONCILED:
        raise BadRequest.single(
            field, "only ReconcileAccount reconciles a posting; set CLEARING_STATUS_CLEARED"
        )
    return status


def parse_tags(tags: Sequence[str], field: str) -> tuple[str, ...]:
    """Tags of one line and 1 to 50 characters each, at most MAX_TAGS, none repeated."""
    cleaned = tuple(check_characters(tag, f"{field}[{i}]").strip() for i, tag in enumerate(tags))
    if len(cleaned) > MAX_TAGS:
        raise BadRequest.single(field, f"at most {MAX_TAGS} tags")
    if any(not 1 <= len(tag) <= 50 for tag in cleaned):
        raise BadRequest.single(field, "each tag must be 1 to 50 characters")
    if len(set(cleaned)) != len(cleaned):
        raise BadRequest.single(field, "must not repeat a tag")
    return cleaned


def _notes(value: str, field: str) -> str:
    # The one free text of several lines, where tabs and line breaks are the author's layout.
    return optional_text(value, field, 2000, multiline=True)


def _details(
    transaction: pb.Transaction, owner: UserKey | None, violations: Violations
) -> TransactionDraft | None:
    """The descriptive fields of a transaction to create (postings come separately)."""
    field = "transaction"
    booking_date = violations.check(
        lambda: parse_date(
            transaction.booking_date,
            f"{field}.booking_date",
            present=transaction.HasField("booking_date"),
        )
    )
    description = violations.check(
        lambda: optional_text(transaction.description, f"{field}.description", 500)
    )
    notes = violations.check(lambda: _notes(transaction.notes, f"{field}.notes"))
    tags = violations.check(lambda: parse_tags(transaction.tags, f"{field}.tags"))
    payee = violations.check(
        lambda: child_id(transaction.payee, names.parse_payee_name, owner, f"{field}.payee")
    )
    external_id = violations.check(
        lambda: optional_text(transaction.external_id, f"{field}.external_id", 200)
    )
    if transaction.state not in (
        pb.Transaction.STATE_UNSPECIFIED,
        pb.Transaction.STATE_PENDING,
        pb.Transaction.STATE_POSTED,
    ):
        violations.add(f"{field}.state", "may only be STATE_PENDING or STATE_POSTED on create")
    if booking_date is None:
        return None
    return TransactionDraft(
        booking_date=booking_date,
        postings=(),
        description=description or "",
        payee_id=payee,
        notes=notes or "",
        tags=tags or (),
        external_id=external_id or None,
        pending=transaction.state == pb.Transaction.STATE_PENDING,
    )


def parse_create(request: pb.CreateTransactionRequest, metadata: Metadata | None) -> Create:
    """A CreateTransaction request as a draft (balance is checked by the ledger)."""
    violations = Violations()
    owner = parse_owner(request.parent, violations)
    if not request.HasField("transaction"):
        violations.add("transaction", "is required")
    draft = _details(request.transaction, owner, violations)
    postings = [
        _posting(p, f"transaction.postings[{i}]", owner, violations)
        for i, p in enumerate(request.transaction.postings)
    ]
    caller = request_caller(violations, request.request_id, metadata)
    violations.raise_if_any()
    assert owner is not None
    assert draft is not None
    return Create(owner, _with_postings(draft, postings), caller)


def _with_postings(
    draft: TransactionDraft, postings: Sequence[PostingDraft | None]
) -> TransactionDraft:
    return replace(draft, postings=tuple(p for p in postings if p is not None))


def parse_change(name: str, etag: str, request_id: str, metadata: Metadata | None) -> Change:
    """A request naming one transaction, with its etag and request id."""
    key, revision, caller = parse_named_change(
        names.parse_transaction_name, name, etag, request_id, metadata
    )
    return Change(key, caller, revision)


def parse_update(
    request: pb.UpdateTransactionRequest, metadata: Metadata | None
) -> tuple[Change, TransactionChanges]:
    """The target and the descriptive changes of an UpdateTransaction request."""
    violations = Violations()
    t = request.transaction
    key = violations.check(lambda: names.parse_transaction_name(t.name, "transaction.name"))
    owner = None if key is None else UserKey(key.user_id)
    paths = update_paths(request, violations, UPDATABLE)
    if list(request.update_mask.paths) == ["*"] and not t.postings:
        # `*` replaces what the request sets (AIP-134); postings it does not list stay as they are.
        paths -= POSTING_FIELDS
    changes = TransactionChanges(
        description=_if(
            paths,
            "description",
            violations,
            lambda: optional_text(t.description, "transaction.description", 500),
        ),
        change_payee="payee" in paths,
        payee_id=_if(
            paths,
            "payee",
            violations,
            lambda: child_id(t.payee, names.parse_payee_name, owner, "transaction.payee"),
        ),
        notes=_if(paths, "notes", violations, lambda: _notes(t.notes, "transaction.notes")),
        tags=_if(paths, "tags", violations, lambda: parse_tags(t.tags, "transaction.tags")),
        categories=_if(
            paths,
            "postings.category",
            violations,
            lambda: tuple(
                child_id(
                    p.category,
                    names.parse_category_name,
                    owner,
                    f"transaction.postings[{i}].category",
                )
                for i, p in enumerate(t.postings)
            ),
        ),
        memos=_if(
            paths,
            "postings.memo",
            violations,
            lambda: tuple(
                optional_text(p.memo, f"transaction.postings[{i}].memo", 500)
                for i, p in enumerate(t.postings)
            ),
        ),
        clearing_statuses=_if(
            paths,
            "postings.clearing_status",
            violations,
            lambda: tuple(
                _clearing_status(p, f"transaction.postings[{i}].clearing_status")
                for i, p in enumerate(t.postings)
            ),
        ),
    )
    revision = violations.check(lambda: parse_etag(t.etag, "transaction.etag"))
    caller = request_caller(violations, request.request_id, metadata)
    violations.raise_if_any()
    assert key is not None
    return Change(key, caller, revision), changes


def _if(
    paths: frozenset[str], path: str, violations: Violations, parse: Callable[[], T]
) -> T | None:
    """The parsed new value of `path` if the mask names it, else None (unchanged)."""
    return violations.check(parse) if path in paths else None


@dataclass(frozen=True)
class Reverse:
    """A validated ReverseTransaction request."""

    key: TransactionKey
    booking_date: date | None
    reason: str
    caller: Caller


def parse_reverse(request: pb.ReverseTransactionRequest, metadata: Metadata | None) -> Reverse:
    """The target, date and reason of a ReverseTransaction request."""
    violations = Violations()
    key = violations.check(lambda: names.parse_transaction_name(request.name))
    booking_date = None
    if request.HasField("booking_date"):
        booking_date = violations.check(lambda: parse_date(request.booking_date, "booking_date"))
    reason = violations.check(lambda: optional_text(request.reason, "reason", 500))
    caller = request_caller(violations, request.request_id, metadata)
    violations.raise_if_any()
    assert key is not None
    return Reverse(key, booking_date, reason or "", caller)
