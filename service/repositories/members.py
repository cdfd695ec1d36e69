"""Members: who a user's books are shared with, and in which role."""

import asyncpg

from service.domain.access import Role
from service.domain.errors import AlreadyExists, NotFound
from service.domain.keys import MemberKey, UserKey
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.members import Member, NewMember
from service.repositories.querying import Field, Kind, Listing
from service.repositories.rows import RowRepository, Table

_COLUMNS = "user_id, member_id, principal, role, revision, create_time, update_time"

_INSERT = f"""
INSERT INTO members (user_id, member_id, principal, role)
VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id, principal) DO NOTHING
RETURNING {_COLUMNS}
"""

# The owners of a user, locked: two owners removing each other at once must not both succeed.
_LOCK_OWNERS = "SELECT member_id FROM members WHERE user_id = $1 AND role = 'OWNER' FOR UPDATE"

_BY_PRINCIPAL = "SELECT member_id FROM members WHERE user_id = $1 AND principal = $2"


def _member(row: asyncpg.Record) -> Member:
    return Member(
        user_id=row["user_id"],
        member_id=row["member_id"],
        principal=row["principal"],
        role=Role[row["role"]],
        revision=row["revision"],
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


MEMBERS = Table(
    name="members",
    columns=_COLUMNS,
    key_columns=("user_id", "member_id"),
    listing=Listing(
        fields={
            "principal": Field("principal", Kind.TEXT),
            "role": Field("role", Kind.ENUM, enum_values={f"ROLE_{r.name}": r.name for r in Role}),
            "create_time": Field("create_time", Kind.TIMESTAMP),
            "update_time": Field("update_time", Kind.TIMESTAMP),
        },
        id_column="member_id",
        default_order=(OrderKey("create_time"),),
    ),
    from_row=_member,
)


class MemberRepository(RowRepository[Member, MemberKey]):
    """Reads and writes members."""

    table = MEMBERS

    async def insert(self, key: MemberKey, new: NewMember) -> Member:
        """Add a member. Raises NotFound for an unknown user, AlreadyExists if the member id
        is taken or the principal is a member already (naming that member)."""
        try:
            row = await self._connection.fetchrow(
                _INSERT, key.user_id, key.member_id, new.principal, new.role.name
            )
        except asyncpg.ForeignKeyViolationError:
            raise NotFound(UserKey(key.user_id)) from None
        except asyncpg.UniqueViolationError:
            raise AlreadyExists(key) from None
        if row is None:
            existing = await self._connection.fetchval(_BY_PRINCIPAL, key.user_id, new.principal)
            raise AlreadyExists(MemberKey(key.user_id, existing))
        return _member(row)

    async def list_owned(self, owner: UserKey, query: ListQuery) -> Page[Member]:
        """One page of the user's members."""
        return await self.list(query, scope={"user_id": owner.user_id})

    async def lock_owners(self, owner: UserKey) -> int:
        """Lock the user's owners for the transaction; returns how many there are."""
        return len(await self._connection.fetch(_LOCK_OWNERS, owner.user_id))

    async def set_role(self, key: MemberKey, role: Role) -> Member:
        """Give the member `role`. Raises NotFound."""
        return await self.update(key, {"role": role.name})

    async def remove(self, key: MemberKey) -> None:
        """Remove the member. Raises NotFound."""
        if not await self.delete(key):
            raise NotFound(key)
