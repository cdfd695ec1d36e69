"""Reading transactions: one by key, or a filtered, keyset-paged list, with their postings."""

from collections import defaultdict
from collections.abc import Sequence

import asyncpg

from service.domain.errors import NotFound
from service.domain.filtering import Comparison
from service.domain.ledger import Posting, Transaction, TransactionKey, TransactionState
from service.domain.listing import ListQuery, OrderKey, Page
from service.repositories.querying import AddParam, Field, Kind, Listing, invalid_filter

# Transactions with the id of their reversal, as one relation the listing can filter and order.
# A missing external id reads as '' so that ordering and page cursors never meet a NULL.
TRANSACTIONS = """
(SELECT t.user_id, t.transaction_id, t.booking_date, t.description, t.payee_id, t.notes,
        t.tags, COALESCE(t.external_id, '') AS external_id, t.state, t.reverses_transaction_id,
        t.exchange_rate, t.amount,
        t.revision, t.create_time, t.update_time, r.transaction_id AS reversed_by_id
 FROM transactions t
 LEFT JOIN transactions r
   ON r.user_id = t.user_id AND r.reverses_transaction_id = t.transaction_id) AS tx
"""

_COLUMNS = (
    "user_id, transaction_id, booking_date, description, payee_id, notes, tags, external_id,"
    " state, reverses_transaction_id, exchange_rate, amount, revision, create_time,"
    " update_time, reversed_by_id"
)

_POSTINGS = """
SELECT transaction_id, posting_index, account_id, amount, currency_code, category_id, memo
FROM postings
WHERE user_id = $1 AND transaction_id = ANY($2::text[])
ORDER BY transaction_id, posting_index
"""


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


LISTING = Listing(
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


def _transaction(row: asyncpg.Record, postings: Sequence[Posting]) -> Transaction:
    return Transaction(
        user_id=row["user_id"],
        transaction_id=row["transaction_id"],
        booking_date=row["booking_date"],
        description=row["description"],
        payee_id=row["payee_id"],
        notes=row["notes"],
        tags=tuple(row["tags"]),
        external_id=row["external_id"] or None,
        state=TransactionState(row["state"]),
        postings=tuple(postings),
        reverses_id=row["reverses_transaction_id"],
        reversed_by_id=row["reversed_by_id"],
        exchange_rate=row["exchange_rate"],
        revision=row["revision"],
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


async def _with_postings(
    connection: asyncpg.Connection, user_id: str, rows: Sequence[asyncpg.Record]
) -> list[Transaction]:
    ids = [row["transaction_id"] for row in rows]
    by_transaction: dict[str, list[Posting]] = defaultdict(list)
    for p in await connection.fetch(_POSTINGS, user_id, ids):
        by_transaction[p["transaction_id"]].append(
            Posting(
                index=p["posting_index"],
                account_id=p["account_id"],
                amount=p["amount"],
                currency_code=p["currency_code"],
                category_id=p["category_id"],
                memo=p["memo"],
            )
        )
    return [_transaction(row, by_transaction[row["transaction_id"]]) for row in rows]


async def fetch_transaction(
    connection: asyncpg.Connection, key: TransactionKey, *, lock: bool = False
) -> Transaction:
    """The transaction of `key`, optionally locking its row. Raises NotFound."""
    if lock:
        await connection.execute(
            "SELECT 1 FROM transactions WHERE user_id = $1 AND transaction_id = $2 FOR UPDATE",
            key.user_id,
            key.transaction_id,
        )
    row = await connection.fetchrow(
        f"SELECT {_COLUMNS} FROM {TRANSACTIONS} WHERE user_id = $1 AND transaction_id = $2",
        key.user_id,
        key.transaction_id,
    )
    if row is None:
        raise NotFound("Transaction", f"users/{key.user_id}/transactions/{key.transaction_id}")
    return (await _with_postings(connection, key.user_id, [row]))[0]


async def list_transactions(
    connection: asyncpg.Connection, user_id: str, query: ListQuery
) -> Page[Transaction]:
    """One page of a user's transactions."""
    params: list[object] = [user_id]
    where, order = LISTING.sql(query, params)
    params.append(query.page_size + 1)
    rows = await connection.fetch(
        f"SELECT {_COLUMNS} FROM {TRANSACTIONS}"
        f" WHERE user_id = $1{' AND ' + where if where else ''}"
        f" ORDER BY {order} LIMIT ${len(params)}",
        *params,
    )
    more = len(rows) > query.page_size
    rows = rows[: query.page_size]
    cursor = LISTING.cursor(query, rows[-1]) if more else None
    return Page(await _with_postings(connection, user_id, rows), cursor)
