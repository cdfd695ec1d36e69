"""How a List of transactions filters and orders: plain fields, and the accounts, category
trees, payees and tags of their postings."""

from service.domain.filter_syntax import Comparison
from service.domain.ledger import TransactionState
from service.domain.listing import OrderKey
from service.repositories.querying import AddParam, Field, Kind, Listing, invalid_filter


def _resource_id(c: Comparison, collection: str) -> tuple[str, str]:
    """The (user, id) of the resource name a filter compares with."""
    parts = c.value.split("/")
    if c.op not in ("=", "!=") or len(parts) != 4 or parts[0] != "users" or parts[2] != collection:
        raise invalid_filter(
            f"{c.field!r} takes = or != and a name users/{{user}}/{collection}/{{id}}"
        )
    return parts[1], parts[3]


def _negate(c: Comparison, sql: str) -> str:
    return f"(NOT {sql})" if c.op == "!=" else sql


def _posting_exists(condition: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM postings p WHERE p.user_id = tx.user_id"
        f" AND p.transaction_id = tx.transaction_id AND {condition})"
    )


def _account(c: Comparison, param: AddParam) -> str:
    user_id, account_id = _resource_id(c, "accounts")
    condition = f"p.user_id = {param(user_id)} AND p.account_id = {param(account_id)}"
    return _negate(c, _posting_exists(condition))


def _category(c: Comparison, param: AddParam) -> str:
    user_id, category_id = _resource_id(c, "categories")
    user = param(user_id)
    subtree = (
        "WITH RECURSIVE sub AS ("
        f" SELECT category_id FROM categories WHERE user_id = {user}"
        f" AND category_id = {param(category_id)}"
        " UNION SELECT c.category_id FROM categories c JOIN sub"
        f" ON c.user_id = {user} AND c.parent_category_id = sub.category_id)"
        " SELECT category_id FROM sub"
    )
    return _negate(c, _posting_exists(f"p.user_id = {user} AND p.category_id IN ({subtree})"))


def _payee(c: Comparison, param: AddParam) -> str:
    user_id, payee_id = _resource_id(c, "payees")
    matches = f"(tx.user_id = {param(user_id)} AND tx.payee_id = {param(payee_id)})"
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
