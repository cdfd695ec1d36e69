"""Ledger domain objects -> protobuf messages."""

from datetime import date
from typing import Any

from finance.v1 import account_service_pb2, audit_service_pb2, transaction_service_pb2
from google.protobuf import struct_pb2

from service.api import names
from service.api.convert import timestamp
from service.api.dates import to_proto_date
from service.api.money import to_money
from service.api.validation import format_etag
from service.domain.audit import AuditEvent
from service.domain.keys import AccountKey, StatementKey
from service.domain.ledger import ClearingStatus, Transaction, TransactionState
from service.domain.models import Money

CLEARING_STATUSES = {
    ClearingStatus.UNCLEARED: transaction_service_pb2.Posting.CLEARING_STATUS_UNCLEARED,
    ClearingStatus.CLEARED: transaction_service_pb2.Posting.CLEARING_STATUS_CLEARED,
    ClearingStatus.RECONCILED: transaction_service_pb2.Posting.CLEARING_STATUS_RECONCILED,
}

TRANSACTION_STATES = {
    TransactionState.PENDING: transaction_service_pb2.Transaction.STATE_PENDING,
    TransactionState.POSTED: transaction_service_pb2.Transaction.STATE_POSTED,
    TransactionState.VOIDED: transaction_service_pb2.Transaction.STATE_VOIDED,
}


def transaction_to_proto(t: Transaction) -> transaction_service_pb2.Transaction:
    """The API form of a transaction."""

    def child(collection: str, child_id: str | None) -> str:
        return "" if child_id is None else names.child_name(t.user_id, collection, child_id)

    return transaction_service_pb2.Transaction(
        name=child("transactions", t.transaction_id),
        booking_date=to_proto_date(t.booking_date),
        description=t.description,
        payee=child("payees", t.payee_id),
        notes=t.notes,
        tags=list(t.tags),
        external_id=t.external_id or "",
        state=TRANSACTION_STATES[t.state],
        postings=[
            transaction_service_pb2.Posting(
                account=child("accounts", p.account_id),
                amount=to_money(p.amount, p.currency_code),
                category=child("categories", p.category_id),
                memo=p.memo,
                clearing_status=CLEARING_STATUSES[p.clearing_status],
                statement=""
                if p.statement_id is None
                else names.resource_name(StatementKey(t.user_id, p.account_id, p.statement_id)),
            )
            for p in t.postings
        ],
        reverses=child("transactions", t.reverses_id),
        reversed_by=child("transactions", t.reversed_by_id),
        exchange_rate="" if t.exchange_rate is None else format(t.exchange_rate.normalize(), "f"),
        create_time=timestamp(t.create_time),
        update_time=timestamp(t.update_time),
        etag=format_etag(t.revision),
    )


def balance_to_proto(
    key: AccountKey, day: date, balance: Money
) -> account_service_pb2.AccountBalance:
    """An account's balance at the end of `day`."""
    return account_service_pb2.AccountBalance(
        account=names.resource_name(key),
        as_of_date=to_proto_date(day),
        balance=to_money(balance.amount, balance.currency_code),
    )


def audit_event_to_proto(event: AuditEvent) -> audit_service_pb2.AuditEvent:
    """The API form of an audit event."""
    message = audit_service_pb2.AuditEvent(
        name=names.child_name(event.user_id, "auditEvents", str(event.event_id)),
        resource=names.resource_name(event.subject),
        action=event.action,
        actor=event.actor,
        actor_service=event.actor_service or "",
        actor_note=event.actor_note or "",
        request_id="" if event.request_id is None else str(event.request_id),
        event_time=timestamp(event.event_time),
    )
    if event.before is not None:
        message.before.CopyFrom(_struct(event.before))
    if event.after is not None:
        message.after.CopyFrom(_struct(event.after))
    return message


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(values)
    return result
