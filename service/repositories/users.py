"""Users: the tenants every other record belongs to."""

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

# What a user still has, by kind, for a delete that is not forced.
_HOLDINGS = """
SELECT (SELECT count(*) FROM accounts WHERE user_id = $1) AS accounts,
       (SELECT count(*) FROM transactions WHERE user_id = $1) AS transactions,
       (SELECT count(*) FROM categories WHERE user_id = $1) AS categories,
       (SELECT count(*) FROM payees WHERE user_id = $1) AS payees
"""

# Everything a user has, in an order that no foreign key objects to (each statement checks
# its own self-references, such as reversals and category trees, at its end).
_ERASE = (
    "DELETE FROM recurring_occurrences WHERE user_id = $1",
    "DELETE FROM recurring_transactions WHERE user_id = $1",
    "DELETE FROM postings WHERE user_id = $1",
    "DELETE FROM transactions WHERE user_id = $1",
    "DELETE FROM accounts WHERE user_id = $1",
    "DELETE FROM categories WHERE user_id = $1",
    "DELETE FROM payees WHERE user_id = $1",
)

# What the service kept about the user's requests and changes.
_FORGET = (
    "DELETE FROM members WHERE user_id = $1",
    "DELETE FROM idempotency_keys WHERE user_id = $1",
    "DELETE FROM audit_events WHERE user_id = $1",
)


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

    async def holdings(self, key: UserKey) -> dict[str, int]:
        """How many accounts, transactions, categories and payees the user has."""
        row = await self._connection.fetchrow(_HOLDINGS, key.user_id)
        assert row is not None
        return dict(row.items())

    async def erase_holdings(self, key: UserKey) -> None:
        """Delete the user's accounts, transactions, categories and payees."""
        for statement in _ERASE:
            await self._connection.execute(statement, key.user_id)

    async def forget_history(self, key: UserKey) -> None:
        """Delete the user's claimed request ids and audit trail."""
        for statement in _FORGET:
            await self._connection.execute(statement, key.user_id)
