"""EXPLAIN (ANALYZE, BUFFERS) of the ListTransactions page query for the big user, on the first
page and on a page deep in (through a keyset page token), as custom and as generic plans."""

import json
from dataclasses import dataclass

from finance.v1 import transaction_service_pb2

from bench.baseline import as_text, servicer_context
from bench.calls import PAGE_SIZE
from bench.recording import Statement, record
from service.api import pagination
from service.api.page_tokens import PageTokens
from service.api.transaction_servicer import TransactionServicer
from service.db.database import Database
from service.db.unit_of_work import UnitOfWork
from service.services.ledger import LedgerService

# The servicer and the token of the deep page must agree on the key that signs page tokens.
TOKENS = PageTokens.with_random_key()

_ROW_AT = """
SELECT booking_date, transaction_id FROM transactions WHERE user_id = $1
ORDER BY booking_date DESC, transaction_id DESC OFFSET $2 LIMIT 1
"""


@dataclass(frozen=True)
class Plan:
    """One page query's plan as PostgreSQL reports it."""

    title: str
    text: str
    seq_scans: tuple[str, ...]


async def _page_query(database: Database, parent: str, token: str) -> Statement:
    """The page SELECT the servicer runs for this request: the first query it sends after the
    unit of work's BEGIN and its scoping statement (set_config)."""
    request = transaction_service_pb2.ListTransactionsRequest(
        parent=parent, page_size=PAGE_SIZE, page_token=token
    )

    async def rpc(db: Database) -> object:
        servicer = TransactionServicer(LedgerService(UnitOfWork(db)), page_tokens=TOKENS)
        return await servicer.ListTransactions(request, servicer_context())

    statements = await record(database, rpc)
    return next(
        s
        for s in statements
        if s.sql.lstrip().upper().startswith("SELECT") and "set_config" not in s.sql
    )


def _seq_scans(node: dict[str, object]) -> list[str]:
    found = [str(node["Relation Name"])] if node.get("Node Type") == "Seq Scan" else []
    for child in node.get("Plans", []):  # type: ignore[attr-defined]
        found += _seq_scans(child)
    return found


def _quoted(value: object) -> str:
    """A SQL literal of an argument (EXECUTE takes no parameters); the prepared statement's
    parameter types apply to it."""
    return "'" + as_text(value).replace("'", "''") + "'"


async def _explain(database: Database, title: str, query: Statement, *, generic: bool) -> Plan:
    mode = "force_generic_plan" if generic else "force_custom_plan"
    async with database.connection() as connection, connection.transaction():
        await connection.execute(f"SET LOCAL plan_cache_mode = {mode}")
        await connection.execute("PREPARE bench_page AS " + query.sql)
        try:
            arguments = ", ".join(_quoted(value) for value in query.args)
            explain = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT {{}}) EXECUTE bench_page({arguments})"
            rows = await connection.fetch(explain.format("TEXT"))
            tree = await connection.fetchval(explain.format("JSON"))
        finally:
            await connection.execute("DEALLOCATE bench_page")
    root = json.loads(tree)[0]["Plan"]
    text = "\n".join(r[0] for r in rows)
    return Plan(title, text, tuple(_seq_scans(root)))


async def page_plans(database: Database, user_id: str, *, deep: int) -> list[Plan]:
    """Plans of the first page and of the page after row `deep`, each custom and generic."""
    parent = f"users/{user_id}"
    async with database.connection() as connection:
        row = await connection.fetchrow(_ROW_AT, user_id, deep)
    assert row is not None, f"the user has fewer than {deep} transactions"
    first = transaction_service_pb2.ListTransactionsRequest(parent=parent, page_size=PAGE_SIZE)
    paging = pagination.Paging(first, TOKENS, scope=parent)
    token = paging.next_page_token((row["booking_date"], row["transaction_id"]))
    plans = []
    for title, page_token in (("first page", ""), (f"page after row {deep:,}", token)):
        query = await _page_query(database, parent, page_token)
        for generic in (False, True):
            kind = "generic plan" if generic else "custom plan"
            plans.append(await _explain(database, f"{title}, {kind}", query, generic=generic))
    return plans
