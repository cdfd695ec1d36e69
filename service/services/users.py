"""Users: creating, reading, changing and deleting the tenants of the books."""

import uuid

from service.db.unit_of_work import UnitOfWork, Work
from service.domain import catalog_rules
from service.domain.access import Role
from service.domain.audit import Caller
from service.domain.keys import MemberKey, UserKey
from service.domain.listing import ListQuery, Page
from service.domain.members import NewMember
from service.domain.models import NewUser, User, UserChanges
from service.domain.revisions import check_revision
from service.repositories.idempotency import fingerprint

# The namespace of the user ids derived from request ids (any fixed UUID).
_USER_IDS = uuid.UUID("1f6a0b8e-8c1d-4d0c-9f55-2b1e5c3d7a90")


def assigned_user_id(request_id: uuid.UUID | None) -> str:
    """The id of a user created without a chosen one: derived from the request_id, so that a
    retry names the same user (which its primary key then finds, in the user's own shard of a
    distributed schema), or random without one."""
    return str(uuid.uuid5(_USER_IDS, str(request_id)) if request_id else uuid.uuid4())


class UserService:
    """Use cases of users."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def create(self, new: NewUser, *, caller: Caller) -> User:
        """Create a user (with an assigned id unless `new` names one); a retry with the same
        request_id returns the user first created. Raises AlreadyExists if the id is taken."""
        key = UserKey(new.user_id or assigned_user_id(caller.request_id))
        request_hash = fingerprint(new)

        async def work(w: Work) -> User:
            user, created = await w.users.insert(
                key,
                new,
                request_id=caller.request_id,
                request_hash=request_hash,
                created_by=caller.principal.subject,
            )
            if created:
                await w.record(key, "create", before=None, after=user)
                if caller.principal.authenticated:
                    owner = NewMember(caller.principal.subject, Role.OWNER)
                    member = await w.members.insert(
                        MemberKey(key.user_id, str(uuid.uuid4())), owner
                    )
                    await w.record(member.key, "create", before=None, after=member)
            return user

        # Any caller may create a user. The work spans users: a retried request_id finds the
        # user the first attempt created, whose id may have been assigned then.
        return await self._uow.run(work, caller=caller, user=None, need=None)

    async def get(self, key: UserKey, *, caller: Caller) -> User:
        """The user of `key`. Raises NotFound."""
        return await self._uow.read(lambda w: w.users.get(key), caller=caller, user=key)

    async def list(self, query: ListQuery, *, caller: Caller) -> Page[User]:
        """One page of the users the caller is a member of (every user, for an
        administrator)."""
        principal = caller.principal

        async def work(w: Work) -> Page[User]:
            if principal.admin:
                return await w.users.list_all(query)
            return await w.users.list_granted(principal.subject, query)

        return await self._uow.read(work, caller=caller, user=None, need=None)

    async def update(
        self, key: UserKey, changes: UserChanges, *, expected_revision: int | None, caller: Caller
    ) -> User:
        """Apply `changes`. Raises NotFound, or EtagMismatch if the user is at another
        revision than `expected_revision`."""
        assignments = {
            column: value
            for column, value in (("display_name", changes.display_name), ("email", changes.email))
            if value is not None
        }

        async def work(w: Work) -> User:
            user = await w.users.get(key, lock=True)
            check_revision(key, user.revision, expected_revision)
            updated = await w.users.update(key, assignments)
            await w.record(key, "update", before=user, after=updated)
            return updated

        return await self._uow.run(work, caller=caller, user=key, need=Role.OWNER)

    async def delete(
        self, key: UserKey, *, expected_revision: int | None, force: bool, caller: Caller
    ) -> None:
        """Delete a user: one with nothing left, or with `force` everything it has too (the
        right to erasure). Its audit trail becomes one event saying who deleted it, with no
        personal data. Raises NotFound, EtagMismatch or FailedPrecondition."""

        async def work(w: Work) -> None:
            user = await w.users.get(key, lock=True)
            check_revision(key, user.revision, expected_revision)
            if force:
                await w.users.erase_holdings(key)
            else:
                catalog_rules.check_user_deletable(key, await w.users.holdings(key))
            await w.users.forget_history(key)
            await w.users.delete(key)
            await w.record(key, "erase" if force else "delete", before=None, after=None)

        await self._uow.run(work, caller=caller, user=key, need=Role.OWNER)
