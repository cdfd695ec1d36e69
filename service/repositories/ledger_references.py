"""References a transaction makes to a user's payees and categories, checked before writing."""

from collections.abc import Iterable, Sequence

import asyncpg

from service.domain.errors import NotFound
from service.domain.ledger import PostingDraft


async def check_references(
    connection: asyncpg.Connection,
    user_id: str,
    payee_id: str | None,
    postings: Sequence[PostingDraft],
) -> None:
    """Raise NotFound for a payee or category that is not the user's."""
    if payee_id is not None and not await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM payees WHERE user_id = $1 AND payee_id = $2)",
        user_id,
        payee_id,
    ):
        raise NotFound("Payee", f"users/{user_id}/payees/{payee_id}")
    await check_categories(connection, user_id, [p.category_id for p in postings])


async def check_categories(
    connection: asyncpg.Connection, user_id: str, category_ids: Iterable[str | None]
) -> None:
    """Raise NotFound for the first category that is not the user's."""
    wanted = [c for c in dict.fromkeys(category_ids) if c is not None]
    if not wanted:
        return
    found = {
        r["category_id"]
        for r in await connection.fetch(
            "SELECT category_id FROM categories WHERE user_id = $1 AND category_id = ANY($2)",
            user_id,
            wanted,
        )
    }
    for category_id in wanted:
        if category_id not in found:
            raise NotFound("Category", f"users/{user_id}/categories/{category_id}")
