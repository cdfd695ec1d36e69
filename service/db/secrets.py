"""Secrets every server over one database shares, kept in that database."""

import asyncpg

_SELECT_BY_NAME = "SELECT value FROM service_secrets WHERE name = $1"


async def shared_secret(connection: asyncpg.Connection, name: str) -> bytes:
    """The secret `name` the migrations made; every server over the database reads the same."""
    value: bytes | None = await connection.fetchval(_SELECT_BY_NAME, name)
    if value is None:
        raise LookupError(f"no secret {name!r} in the database: are migrations applied?")
    return value
