"""Categories and payees: the labels a user's transactions are filed under."""

import uuid

from service.db.unit_of_work import UnitOfWork, Work
from service.domain import catalog_rules
from service.domain.audit import Caller
from service.domain.categories import Category, CategoryChanges, NewCategory
from service.domain.keys import CategoryKey, PayeeKey, UserKey, owner_of
from service.domain.listing import ListQuery, Page
from service.domain.payees import NewPayee, Payee, PayeeChanges
from service.domain.revisions import check_revision
from service.services.owners import owned_page


class CategoryService:
    """Use cases of categories: trees of one kind each, within one user."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def create(self, owner: UserKey, new: NewCategory, *, caller: Caller) -> Category:
        """Create a category; a retry with the same request_id returns the category first
        created. Raises NotFound for an unknown owner or parent, InvalidArgument for a parent
        of another kind."""
        key = CategoryKey(owner.user_id, str(uuid.uuid4()))

        async def work(w: Work) -> Category:
            earlier = await w.claim(owner, "create_category", owner, new, result_id=key.category_id)
            if earlier is not None:
                return await w.categories.get(CategoryKey(owner.user_id, earlier))
            if new.parent is not None:
                parent_kind = await w.categories.kind_of(new.parent)
                catalog_rules.check_parent(owner, new.parent, parent_kind, new.kind)
            category = await w.categories.insert(key, new)
            await w.record(key, "create", before=None, after=category)
            return category

        return await self._uow.run(work, caller=caller, user=owner)

    async def get(self, key: CategoryKey, *, caller: Caller) -> Category:
        """The category of `key`. Raises NotFound."""
        return await self._uow.read(
            lambda w: w.categories.get(key), caller=caller, user=owner_of(key)
        )

    async def list(self, owner: UserKey, query: ListQuery, *, caller: Caller) -> Page[Category]:
        """One page of the owner's categories. Raises NotFound for an unknown owner."""

        async def work(w: Work) -> Page[Category]:
            return await owned_page(w, owner, await w.categories.list_owned(owner, query))

        return await self._uow.read(work, caller=caller, user=owner)

    async def update(
        self,
        key: CategoryKey,
        changes: CategoryChanges,
        *,
        expected_revision: int | None,
        caller: Caller,
    ) -> Category:
        """Rename or move a category. Raises NotFound (it or its new parent), EtagMismatch,
        or InvalidArgument if the new parent is of another kind or inside its subtree."""
        owner = UserKey(key.user_id)
        assignments: dict[str, object] = {}
        if changes.display_name is not None:
            assignments["display_name"] = changes.display_name

        async def work(w: Work) -> Category:
            if changes.change_parent:
                await w.categories.lock_trees(owner)
            category = await w.categories.get(key, lock=True)
            check_revision(key, category.revision, expected_revision)
            if changes.change_parent:
                parent = changes.parent
                if parent is not None:
                    kind = await w.categories.kind_of(parent)
                    catalog_rules.check_parent(owner, parent, kind, category.kind)
                    cycle = await w.categories.is_ancestor_or_self(key, of=parent)
                    catalog_rules.check_not_own_ancestor(would_cycle=cycle)
                assignments["parent_category_id"] = None if parent is None else parent.category_id
            updated = await w.categories.update(key, assignments)
            await w.record(key, "update", before=category, after=updated)
            return updated

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def delete(
        self, key: CategoryKey, *, expected_revision: int | None, caller: Caller
    ) -> None:
        """Delete a category without sub-categories that nothing refers to. Raises NotFound,
        EtagMismatch or FailedPrecondition."""

        async def work(w: Work) -> None:
            category = await w.categories.get(key, lock=True)
            check_revision(key, category.revision, expected_revision)
            has_children = await w.categories.has_children(key)
            catalog_rules.check_category_deletable(key, has_children=has_children)
            if not await w.categories.delete(key):
                raise catalog_rules.category_in_use(key)
            await w.record(key, "delete", before=category, after=None)

        await self._uow.run(work, caller=caller, user=owner_of(key))


class PayeeService:
    """Use cases of payees."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def create(self, owner: UserKey, new: NewPayee, *, caller: Caller) -> Payee:
        """Create a payee; a retry with the same request_id returns the payee first created.
        Raises NotFound for an unknown owner."""
        key = PayeeKey(owner.user_id, str(uuid.uuid4()))

        async def work(w: Work) -> Payee:
            earlier = await w.claim(owner, "create_payee", owner, new, result_id=key.payee_id)
            if earlier is not None:
                return await w.payees.get(PayeeKey(owner.user_id, earlier))
            payee = await w.payees.insert(key, new)
            await w.record(key, "create", before=None, after=payee)
            return payee

        return await self._uow.run(work, caller=caller, user=owner)

    async def get(self, key: PayeeKey, *, caller: Caller) -> Payee:
        """The payee of `key`. Raises NotFound."""
        return await self._uow.read(lambda w: w.payees.get(key), caller=caller, user=owner_of(key))

    async def list(self, owner: UserKey, query: ListQuery, *, caller: Caller) -> Page[Payee]:
        """One page of the owner's payees. Raises NotFound for an unknown owner."""

        async def work(w: Work) -> Page[Payee]:
            return await owned_page(w, owner, await w.payees.list_owned(owner, query))

        return await self._uow.read(work, caller=caller, user=owner)

    async def update(
        self, key: PayeeKey, changes: PayeeChanges, *, expected_revision: int | None, caller: Caller
    ) -> Payee:
        """Rename a payee. Raises NotFound or EtagMismatch."""
        assignments: dict[str, object] = {}
        if changes.display_name is not None:
            assignments["display_name"] = changes.display_name

        async def work(w: Work) -> Payee:
            payee = await w.payees.get(key, lock=True)
            check_revision(key, payee.revision, expected_revision)
            updated = await w.payees.update(key, assignments)
            await w.record(key, "update", before=payee, after=updated)
            return updated

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def delete(self, key: PayeeKey, *, expected_revision: int | None, caller: Caller) -> None:
        """Delete a payee no transaction refers to. Raises NotFound, EtagMismatch or
        FailedPrecondition."""

        async def work(w: Work) -> None:
            payee = await w.payees.get(key, lock=True)
            check_revision(key, payee.revision, expected_revision)
            if not await w.payees.delete(key):
                raise catalog_rules.payee_in_use(key)
            await w.record(key, "delete", before=payee, after=None)

        await self._uow.run(work, caller=caller, user=owner_of(key))
