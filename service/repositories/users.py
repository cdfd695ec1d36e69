"""Users: the tenants every other record belongs to."""

import graphlib
import uuid

import asyncpg

from service.domain.errors import AlreadyExists
from service.domain.keys import UserKey
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.models import NewUser, User
from service.repositories.idempotency import request_id_reused
from service.repositories.paging import fetch_page
from service.repositories.querying import Field, Kind, Listing
from service.repositories.rows import RowRepository, Table

_COLUMNS = "user_id, display_name, email, revision, create_time, update_time"

_INSERT = f"""
INSERT INTO users (user_id, display_name, email, create_request_id, create_request_hash,
                   created_by)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (user_id) DO NOTHING
RETURNING {_COLUMNS}
"""

_WITH_REQUEST = f"""
SELECT {_COLUMNS}, create_request_id, create_request_hash, created_by FROM users
WHERE user_id = $1
"""

# The users a principal is a member of, as a relation to list from.
_GRANTED = (
    "(SELECT users.*, members.principal AS member_principal"
    " FROM users JOIN members USING (user_id)) AS granted_users"
)

_EXISTS = "SELECT EXISTS (SELECT 1 FROM users WHERE user_id = $1)"

# The tables that hold a user's records, and those each refers to: read from the catalog, so
# that a table added later is counted and erased too, in an order no foreign key objects to.
_USER_TABLES = """
SELECT c.relname AS name,
       array_remove(array_agg(DISTINCT r.relname), NULL) AS refers_to
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped
LEFT JOIN pg_constraint f ON f.conrelid = c.oid AND f.contype = 'f'
LEFT JOIN pg_class r ON r.oid = f.confrelid
WHERE c.relkind = 'r' AND c.relname <> 'users'
GROUP BY c.relname
"""

# What the service keeps about a user's requests, changes and sharing, rather than what the
# user has: a user with records in these only is empty.
_HISTORY = frozenset({"members", "idempotency_keys", "audit_events"})

# The order a refused delete lists what is left in; tables not named here follow by name.
_LISTED_FIRST = ("accounts", "transactions", "categories", "payees")


def _user(row: asyncpg.Record) -> User:
    return User(
        user_id=row["user_id"],
        display_name=row["display_name"],
        email=row["email"],
        revision=row["revision"],
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


USERS = Table(
    name="users",
    columns=_COLUMNS,
    key_columns=("user_id",),
    listing=Listing(
        fields={
            "display_name": Field("display_name", Kind.TEXT),
            "email": Field("email", Kind.TEXT),
            "create_time": Field("create_time", Kind.TIMESTAMP),
            "update_time": Field("update_time", Kind.TIMESTAMP),
        },
        id_column="user_id",
        default_order=(OrderKey("create_time"),),
    ),
    from_row=_user,
)


class UserRepository(RowRepository[User, UserKey]):
    """Reads and writes users."""

    table = USERS

    async def insert(
        self,
        key: UserKey,
        new: NewUser,
        *,
        request_id: uuid.UUID | None,
        request_hash: bytes,
        created_by: str,
    ) -> tuple[User, bool]:
        """Insert a user; returns it and whether it is new. A request id is kept on the user
        it creates (no user owns a claim before it exists): if the user exists, created by the
        same request of the same principal (`created_by`), that user is returned; by another
        request with this id, or by another principal, the id is rejected as reused. Raises
        AlreadyExists if the user id is taken otherwise."""
        row = await self._connection.fetchrow(
            _INSERT,
            key.user_id,
            new.display_name,
            new.email,
            request_id,
            request_hash,
            created_by,
        )
        if row is not None:
            return _user(row), True
        row = await self._connection.fetchrow(_WITH_REQUEST, key.user_id)
        if row is None or request_id is None or row["create_request_id"] != request_id:
            raise AlreadyExists(key)
        if row["create_request_hash"] != request_hash or row["created_by"] != created_by:
            raise request_id_reused()
        return _user(row), False

    async def list_all(self, query: ListQuery) -> Page[User]:
        """One page of every user."""
        return await self.list(query, scope={})

    async def list_granted(self, principal: str, query: ListQuery) -> Page[User]:
        """One page of the users `principal` is a member of."""
        rows, cursors, cursor = await fetch_page(
            self._connection,
            source=_GRANTED,
            columns=self.table.columns,
            listing=self.table.listing,
            query=query,
            scope={"member_principal": principal},
        )
        return Page([self.table.from_row(r) for r in rows], cursor, cursors)

    async def exists(self, key: UserKey) -> bool:
        """Whether the user exists."""
        found: bool = await self._connection.fetchval(_EXISTS, key.user_id)
        return found

    async def _tables(self) -> list[str]:
        """The tables holding user records, each before every table it refers to."""
        rows = await self._connection.fetch(_USER_TABLES)
        refers_to = {r["name"]: set(r["refers_to"]) for r in rows}
        graph = {
            name: {t for t in targets if t in refers_to} - {name}
            for name, targets in refers_to.items()
        }
        # static_order puts what a table refers to first; deleting goes the other way.
        return list(reversed(list(graphlib.TopologicalSorter(graph).static_order())))

    async def holdings(self, key: UserKey) -> dict[str, int]:
        """How many records of each kind (by table: accounts, transactions, ...) the user has,
        beyond its history."""
        tables = [t for t in await self._tables() if t not in _HISTORY]
        tables.sort(
            key=lambda t: (
                t not in _LISTED_FIRST,
                _LISTED_FIRST.index(t) if t in _LISTED_FIRST else 0,
                t,
            )
        )
        counts = ", ".join(
            f'(SELECT count(*) FROM "{t}" WHERE user_id = $1) AS "{t}"' for t in tables
        )
        row = await self._connection.fetchrow(f"SELECT {counts}", key.user_id)
        assert row is not None
        return {name.replace("_", " "): count for name, count in row.items()}

    async def erase_holdings(self, key: UserKey) -> None:
        """Delete every record the user has, history aside."""
        for table in await self._tables():
            if table not in _HISTORY:
                await self._connection.execute(
                    f'DELETE FROM "{table}" WHERE user_id = $1', key.user_id
                )

    async def forget_history(self, key: UserKey) -> None:
        """Delete the user's members, claimed request ids and audit trail."""
        for table in await self._tables():
            if table in _HISTORY:
                await self._connection.execute(
                    f'DELETE FROM "{table}" WHERE user_id = $1', key.user_id
                )
