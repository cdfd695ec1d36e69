"""How a List of transactions filters and orders: plain fields, and the accounts, category
trees, payees and tags of their postings."""

from typing import TypeVar

from service.domain.filter_syntax import Comparison
from service.domain.keys import AccountKey, CategoryKey, PayeeKey
from service.domain.ledger import TransactionState
from service.domain.listing import OrderKey
from service.repositories.querying import AddParam, Field, Kind, Listing, invalid_filter

K = TypeVar("K", AccountKey, CategoryKey, PayeeKey)


def _reference(c: Comparison, kind: type[K]) -> K:
    """The key of the resource a filter compares with, read by the API layer."""
    if not isinstance(c.reference, kind):
        raise invalid_filter(f"{c.field!r} takes = or != and a resource name")
    return c.reference


def _negate(c: Comparison, sql: str) -> str:
    return f"(NOT {sql})" if c.op == "!=" else sql


def _posting_exists(condition: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM postings p WHERE p.user_id = tx.user_id"
        f" AND p.transaction_id = tx.transaction_id AND {condition})"
    )


def _account(c: Comparison, param: AddParam) -> str:
    key = _reference(c, AccountKey)
    condition = f"p.user_id = {param(key.user_id)} AND p.account_id = {param(key.account_id)}"
    return _negate(c, _posting_exists(condition))


def _category(c: Comparison, param: AddParam) -> str:
    key = _reference(c, CategoryKey)
    user = param(key.user_id)
    subtree = (
        "WITH RECURSIVE sub AS ("
        f" SELECT category_id FROM categories WHERE user_id = {user}"
        f" AND category_id = {param(key.category_id)}"
        " UNION SELECT c.category_id FROM categories c JOIN sub"
        f" ON c.user_id = {user} AND c.parent_category_id = sub.category_id)"
        " SELECT category_id FROM sub"
    )
    return _negate(c, _posting_exists(f"p.user_id = {user} AND p.category_id IN ({subtree})"))


def _payee(c: Comparison, param: AddParam) -> str:
    key = _reference(c, PayeeKey)
    matches = f"(tx.user_id = {param(key.user_id)} AND tx.payee_id = {param(key.payee_id)})"
    return f"(NOT {matches} OR tx.payee_id IS NULL)" if c.op == "!=" else matches


def _tags(c: Comparison, param: AddParam) -> str:
    if c.op not in (":", "=", "!="):
        raise invalid_filter("'tags' takes ':' (has), = or !=")
    return _negate(c, f"({param(c.value)} = ANY(tx.tags))")


TRANSACTION_LISTING = Listing(
    fields={
        "booking_date": Field("booking_date", Kind.DATE),
        "amount": Field("amount", Kind.NUMBER),
        "create_time": Field("create_time", Kind.TIMESTAMP),
        "description": Field("description", Kind.TEXT),
        "external_id": Field("external_id", Kind.TEXT),
        "state": Field("state", Kind.ENUM, {f"STATE_{s.name}": s.value for s in TransactionState}),
        "account": Field("account", Kind.CUSTOM, compile=_account),
        "category": Field("category", Kind.CUSTOM, compile=_category),
        "payee": Field("payee", Kind.CUSTOM, compile=_payee),
        "tags": Field("tags", Kind.CUSTOM, compile=_tags),
    },
    id_column="transaction_id",
    default_order=(OrderKey("booking_date", descending=True),),
)
