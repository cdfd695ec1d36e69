"""The one way every List reads a page: filter, keyset position, order and one row more."""

from collections.abc import Mapping
from typing import Any

import asyncpg

from service.domain.listing import Cursor, ListQuery
from service.repositories.querying import Listing


async def fetch_page(
    connection: asyncpg.Connection,
    *,
    source: str,
    columns: str,
    listing: Listing,
    query: ListQuery,
    scope: Mapping[str, object],
) -> tuple[list[asyncpg.Record], tuple[Cursor, ...], Cursor | None]:
    """The rows of one page of `source` (a table or a parenthesised relation) whose `scope`
    columns have the given values, and the cursor after each row and of the next page (None
    on the last).

    One row more than the page is read, to know whether another page follows.
    """
    params: list[Any] = list(scope.values())
    conditions = [f"{column} = ${i}" for i, column in enumerate(scope, start=1)]
    where, order = listing.sql(query, params)
    if where:
        conditions.append(where)
    params.append(query.page_size + 1)
    rows = await connection.fetch(
        f"SELECT {columns} FROM {source}"
        f" WHERE {' AND '.join(conditions) or 'TRUE'} ORDER BY {order} LIMIT ${len(params)}",
        *params,
    )
    more = len(rows) > query.page_size
    rows = rows[: query.page_size]
    cursors = tuple(listing.cursor(query, row) for row in rows)
    return rows, cursors, cursors[-1] if more else None
