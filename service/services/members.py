"""Members: sharing a user's books with other principals, each in a role."""

import uuid

from service.db.unit_of_work import UnitOfWork, Work
from service.domain.access import Role
from service.domain.audit import Caller
from service.domain.keys import MemberKey, UserKey, owner_of
from service.domain.listing import ListQuery, Page
from service.domain.members import Member, MemberChanges, NewMember, check_owner_remains
from service.domain.revisions import check_revision
from service.services.owners import owned_page


class MemberService:
    """Use cases of members. Reading them takes any role; changing them takes an owner."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def create(self, owner: UserKey, new: NewMember, *, caller: Caller) -> Member:
        """Give `new.principal` a role on the owner's books; a retry with the same request_id
        returns the member first created. Raises AlreadyExists if the principal is a member
        already."""
        key = MemberKey(owner.user_id, str(uuid.uuid4()))

        async def work(w: Work) -> Member:
            earlier = await w.claim(owner, "create_member", owner, new, result_id=key.member_id)
            if earlier is not None:
                return await w.members.get(MemberKey(owner.user_id, earlier))
            member = await w.members.insert(key, new)
            await w.record(key, "create", before=None, after=member)
            return member

        return await self._uow.run(work, caller=caller, user=owner, need=Role.OWNER)

    async def get(self, key: MemberKey, *, caller: Caller) -> Member:
        """The member of `key`. Raises NotFound."""
        return await self._uow.read(lambda w: w.members.get(key), caller=caller, user=owner_of(key))

    async def list(self, owner: UserKey, query: ListQuery, *, caller: Caller) -> Page[Member]:
        """One page of the owner's members."""

        async def work(w: Work) -> Page[Member]:
            return await owned_page(w, owner, await w.members.list_owned(owner, query))

        return await self._uow.read(work, caller=caller, user=owner)

    async def update(
        self,
        key: MemberKey,
        changes: MemberChanges,
        *,
        expected_revision: int | None,
        caller: Caller,
    ) -> Member:
        """Change a member's role. Raises NotFound, EtagMismatch, or FailedPrecondition for
        demoting the last owner."""

        async def work(w: Work) -> Member:
            owners = await w.members.lock_owners(owner_of(key))
            member = await w.members.get(key, lock=True)
            check_revision(key, member.revision, expected_revision)
            if changes.role is None or changes.role is member.role:
                return member
            check_owner_remains(member, changes.role, owners)
            updated = await w.members.set_role(key, changes.role)
            await w.record(key, "update", before=member, after=updated)
            return updated

        return await self._uow.run(work, caller=caller, user=owner_of(key), need=Role.OWNER)

    async def delete(
        self, key: MemberKey, *, expected_revision: int | None, caller: Caller
    ) -> None:
        """Remove a member: the principal loses its access. Raises NotFound, EtagMismatch, or
        FailedPrecondition for the last owner."""

        async def work(w: Work) -> None:
            owners = await w.members.lock_owners(owner_of(key))
            member = await w.members.get(key, lock=True)
            check_revision(key, member.revision, expected_revision)
            check_owner_remains(member, None, owners)
            await w.members.remove(key)
            await w.record(key, "delete", before=member, after=None)

        await self._uow.run(work, caller=caller, user=owner_of(key), need=Role.OWNER)
