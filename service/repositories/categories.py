"""Categories: what a user's money is earned from or spent on, in trees of one kind each."""

import uuid

import asyncpg

from service.domain.categories import (
    Category,
    CategoryChanges,
    CategoryKey,
    CategoryKind,
    NewCategory,
)
from service.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.models import UserKey
from service.repositories.base import BaseRepository, fingerprint, maybe
from service.repositories.querying import Field, Kind, Listing

_COLUMNS = (
    "user_id, category_id, display_name, kind, parent_category_id, revision, create_time,"
    " update_time"
)

_INSERT = f"""
INSERT INTO categories (user_id, display_name, kind, parent_category_id, create_request_id,
                        create_request_hash)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (user_id, create_request_id) DO NOTHING
RETURNING {_COLUMNS}
"""

_BY_REQUEST_ID = (
    f"SELECT {_COLUMNS}, create_request_hash FROM categories"
    " WHERE user_id = $1 AND create_request_id = $2"
)

# FOR SHARE: a parent being checked cannot be deleted before its new child is written.
_PARENT_KIND = "SELECT kind FROM categories WHERE user_id = $1 AND category_id = $2 FOR SHARE"

# Whether category $3 is category $2 or one of its ancestors; UNION stops at repeated rows.
_IS_ANCESTOR_OR_SELF = """
WITH RECURSIVE ancestors (category_id) AS (
    SELECT $2::text COLLATE "C"
  UNION
    SELECT c.parent_category_id
    FROM categories c JOIN ancestors a ON c.category_id = a.category_id
    WHERE c.user_id = $1 AND c.parent_category_id IS NOT NULL
)
SELECT EXISTS (SELECT 1 FROM ancestors WHERE category_id = $3)
"""

# Moves within one user's trees are serialized: A under C (C below B) and B under D (D below A)
# each pass the cycle check alone, but together they would close a loop.
_LOCK_TREE = "SELECT pg_advisory_xact_lock(hashtextextended('categories/' || $1, 0))"

_HAS_CHILDREN = (
    "SELECT EXISTS (SELECT 1 FROM categories WHERE user_id = $1 AND parent_category_id = $2)"
)

# The parent's resource name, '' for a top-level category, so that filters compare names and
# `parent = ""` finds top-level categories (a NULL would match neither = nor !=).
_PARENT_NAME = "coalesce('users/' || user_id || '/categories/' || parent_category_id, '')"

_LISTING = Listing(
    fields={
        "display_name": Field("display_name", Kind.TEXT),
        "kind": Field("kind", Kind.ENUM, {f"KIND_{k.name}": k.value for k in CategoryKind}),
        "parent": Field(_PARENT_NAME, Kind.TEXT),
        "create_time": Field("create_time", Kind.TIMESTAMP),
        "update_time": Field("update_time", Kind.TIMESTAMP),
    },
    id_column="category_id",
    default_order=(OrderKey("create_time"),),
)

# `parent` is an expression, not a selected column, so a page cursor cannot hold it.
_PARENT_UNSORTABLE = "cannot order by 'parent'; use one of display_name, create_time, update_time"


class CategoryRepository(BaseRepository[Category]):
    """Reads and writes categories, keeping each tree within one user and one kind."""

    table = "categories"
    columns = _COLUMNS
    key_columns = ("user_id", "category_id")
    resource_type = "Category"
    listing = _LISTING

    def _from_row(self, row: asyncpg.Record) -> Category:
        return Category(
            user_id=row["user_id"],
            category_id=row["category_id"],
            display_name=row["display_name"],
            kind=CategoryKind(row["kind"]),
            parent_category_id=row["parent_category_id"],
            revision=row["revision"],
            create_time=row["create_time"],
            update_time=row["update_time"],
        )

    def _name(self, key: tuple[str, ...]) -> str:
        return f"users/{key[0]}/categories/{key[1]}"

    async def create(
        self, owner: UserKey, new: NewCategory, *, request_id: uuid.UUID | None = None
    ) -> Category:
        """Create a category; with a `request_id`, a retry returns the category first created.
        Raises NotFound if the owner or the parent does not exist, InvalidArgument if the
        parent is of another kind."""
        request_hash = fingerprint(owner, new)
        async with self._db.transaction() as connection:
            if new.parent is not None:
                await self._check_parent(connection, owner.user_id, new.parent, new.kind)
            try:
                row = await connection.fetchrow(
                    _INSERT,
                    owner.user_id,
                    new.display_name,
                    new.kind.value,
                    maybe(new.parent, lambda p: p.category_id),
                    request_id,
                    request_hash,
                )
            except asyncpg.ForeignKeyViolationError:
                raise NotFound("User", f"users/{owner.user_id}") from None
            return await self._created(
                connection, row, _BY_REQUEST_ID, (owner.user_id, request_id), request_hash
            )

    async def get(self, key: CategoryKey) -> Category:
        """The category of `key`. Raises NotFound."""
        async with self._db.connection() as connection:
            return await self._get(connection, (key.user_id, key.category_id))

    async def list(self, owner: UserKey, query: ListQuery) -> Page[Category]:
        """One page of the owner's categories. Raises NotFound if the owner does not exist."""
        if any(key.field == "parent" for key in query.order_by):
            raise InvalidArgument.single("order_by", _PARENT_UNSORTABLE)
        return await self._list_owned(owner.user_id, query)

    async def update(
        self, key: CategoryKey, changes: CategoryChanges, *, expected_revision: int | None = None
    ) -> Category:
        """Apply `changes` to a category. Raises NotFound (for it or its new parent),
        EtagMismatch if its revision is not `expected_revision`, or InvalidArgument if the new
        parent is of another kind or would make the category its own ancestor."""
        key_values = (key.user_id, key.category_id)
        assignments: dict[str, object] = {}
        if changes.display_name is not None:
            assignments["display_name"] = changes.display_name
        async with self._db.transaction() as connection:
            if changes.change_parent:
                await connection.execute(_LOCK_TREE, key.user_id)
            category = await self._lock_checked(connection, key_values, expected_revision)
            if changes.change_parent:
                if changes.parent is not None:
                    await self._check_move(connection, category, changes.parent)
                assignments["parent_category_id"] = maybe(changes.parent, lambda p: p.category_id)
            return await self._update(connection, key_values, assignments, None)

    async def delete(self, key: CategoryKey, *, expected_revision: int | None = None) -> None:
        """Delete a category without sub-categories that nothing refers to. Raises NotFound,
        EtagMismatch or FailedPrecondition."""
        name = self._name((key.user_id, key.category_id))
        async with self._db.transaction() as connection:
            await self._lock_checked(connection, (key.user_id, key.category_id), expected_revision)
            if await connection.fetchval(_HAS_CHILDREN, key.user_id, key.category_id):
                raise FailedPrecondition(
                    PreconditionViolation(
                        "CATEGORY_HAS_SUBCATEGORIES",
                        name,
                        "the category has sub-categories; move or delete them first",
                    )
                )
            try:
                await self._delete(connection, (key.user_id, key.category_id))
            except asyncpg.ForeignKeyViolationError:
                raise FailedPrecondition(
                    PreconditionViolation(
                        "CATEGORY_IN_USE",
                        name,
                        "other records refer to the category; recategorize them first",
                    )
                ) from None

    async def _check_parent(
        self,
        connection: asyncpg.Connection,
        user_id: str,
        parent: CategoryKey,
        kind: CategoryKind,
    ) -> None:
        """Check that `parent` is a category of user `user_id` for `kind`; another user's
        category is NotFound, exactly like a missing one."""
        name = self._name((parent.user_id, parent.category_id))
        parent_kind = None
        if parent.user_id == user_id:
            parent_kind = await connection.fetchval(_PARENT_KIND, user_id, parent.category_id)
        if parent_kind is None:
            raise NotFound(self.resource_type, name)
        if parent_kind != kind.value:
            raise InvalidArgument.single(
                "category.parent", f"{name} is for {parent_kind}; the parent must be {kind.value}"
            )

    async def _check_move(
        self, connection: asyncpg.Connection, category: Category, parent: CategoryKey
    ) -> None:
        """Check that `category` may move under `parent`: same user and kind, and not itself
        or one of its own descendants."""
        await self._check_parent(connection, category.user_id, parent, category.kind)
        if await connection.fetchval(
            _IS_ANCESTOR_OR_SELF, category.user_id, parent.category_id, category.category_id
        ):
            raise InvalidArgument.single(
                "category.parent",
                "would make the category its own ancestor; choose a category outside its subtree",
            )
