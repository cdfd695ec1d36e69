"""The schema can be distributed by user on Citus (docs/scaling.md): every table of a user's
data is distributed by user_id and colocated with users, which Citus allows only when user_id
is in its primary key and in every unique constraint and foreign key, on both sides."""

from typing import Any

import asyncpg
import pytest

# Tables that hold no user's data: on Citus they are reference tables, copied whole to every
# node, and no foreign key may lead from them to a table of users' data.
REFERENCE_TABLES = {
    "schema_migrations": "the migrations' bookkeeping, written only by migrations",
    "service_secrets": "keys every server shares (the page token key), not any user's",
}

# Each table's columns as named lists, from the catalog; expression columns read as NULL.
_COLUMNS = """
ARRAY(SELECT a.attname::text
      FROM unnest({keys}) WITH ORDINALITY AS key(attnum, position)
      LEFT JOIN pg_attribute a ON a.attrelid = {table} AND a.attnum = key.attnum
      ORDER BY key.position)
"""

_TABLES = """
SELECT c.relname::text AS name,
       EXISTS (SELECT 1 FROM pg_attribute a
               WHERE a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped)
           AS has_user_id
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
"""

_UNIQUE_INDEXES = f"""
SELECT t.relname::text AS table_name, i.relname::text AS name, x.indisprimary AS is_primary,
       {_COLUMNS.format(keys="x.indkey[0:x.indnkeyatts - 1]", table="x.indrelid")} AS columns
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relnamespace = 'public'::regnamespace AND x.indisunique
"""

_FOREIGN_KEYS = f"""
SELECT t.relname::text AS table_name, k.conname::text AS name, r.relname::text AS referenced,
       {_COLUMNS.format(keys="k.conkey", table="k.conrelid")} AS columns,
       {_COLUMNS.format(keys="k.confkey", table="k.confrelid")} AS referenced_columns
FROM pg_constraint k
JOIN pg_class t ON t.oid = k.conrelid
JOIN pg_class r ON r.oid = k.confrelid
WHERE t.relnamespace = 'public'::regnamespace AND k.contype = 'f'
"""

_USER_ID_TYPES = """
SELECT DISTINCT format_type(a.atttypid, a.atttypmod) AS type, co.collname::text AS collation
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND a.attname = 'user_id' AND NOT a.attisdropped
"""


async def _fetch(database: Any, query: str) -> list[asyncpg.Record]:
    async with database.connection() as connection:
        rows: list[asyncpg.Record] = await connection.fetch(query)
        return rows


@pytest.fixture
async def distributed(database) -> set[str]:
    """The tables of users' data: every table but the reference tables."""
    tables = await _fetch(database, _TABLES)
    return {t["name"] for t in tables} - set(REFERENCE_TABLES)


async def test_every_table_but_the_reference_tables_has_user_id(database):
    tables = await _fetch(database, _TABLES)
    assert set(REFERENCE_TABLES) <= {t["name"] for t in tables}
    missing = {t["name"] for t in tables if not t["has_user_id"]} - set(REFERENCE_TABLES)
    assert missing == set(), "tables without user_id that are not reference tables"


async def test_user_id_is_of_one_type_and_collation_everywhere(database):
    # Colocated tables must share the distribution column's type (and collation, for text).
    types = await _fetch(database, _USER_ID_TYPES)
    assert [tuple(t) for t in types] == [("text", "C")]


async def test_every_table_of_users_data_has_user_id_in_its_primary_key(database, distributed):
    indexes = await _fetch(database, _UNIQUE_INDEXES)
    primary = {i["table_name"]: i["columns"] for i in indexes if i["is_primary"]}
    assert {t: primary.get(t) for t in distributed if "user_id" not in (primary.get(t) or [])} == {}


async def test_every_unique_constraint_and_index_includes_user_id(database, distributed):
    indexes = await _fetch(database, _UNIQUE_INDEXES)
    wrong = {
        i["name"]: i["columns"]
        for i in indexes
        if i["table_name"] in distributed and "user_id" not in i["columns"]
    }
    assert wrong == {}


async def test_every_foreign_key_pairs_user_id_with_user_id(database, distributed):
    keys = await _fetch(database, _FOREIGN_KEYS)
    assert keys  # the schema has foreign keys, and this reads them
    wrong = {
        k["name"]: (k["columns"], k["referenced"], k["referenced_columns"])
        for k in keys
        if k["table_name"] in distributed
        and ("user_id", "user_id") not in zip(k["columns"], k["referenced_columns"], strict=True)
    }
    assert wrong == {}


async def test_no_foreign_key_leads_from_a_reference_table_to_users_data(database, distributed):
    keys = await _fetch(database, _FOREIGN_KEYS)
    wrong = {
        k["name"]
        for k in keys
        if k["table_name"] in REFERENCE_TABLES and k["referenced"] in distributed
    }
    assert wrong == set()
