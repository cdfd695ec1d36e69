"""Categories: what a user's money is earned from or spent on, in trees of one kind each."""

from collections.abc import Iterable

import asyncpg

from service.domain.categories import Category, CategoryKind, NewCategory
from service.domain.filter_syntax import Comparison
from service.domain.keys import CategoryKey, UserKey
from service.domain.listing import ListQuery, OrderKey, Page
from service.repositories.querying import AddParam, Field, Kind, Listing, invalid_filter
from service.repositories.rows import RowRepository, Table

_COLUMNS = (
    "user_id, category_id, display_name, kind, parent_category_id, revision, create_time,"
    " update_time"
)

_INSERT = f"""
INSERT INTO categories (user_id, category_id, display_name, kind, parent_category_id)
VALUES ($1, $2, $3, $4, $5)
RETURNING {_COLUMNS}
"""

# FOR SHARE: a parent being checked cannot be deleted before its new child is written.
_KIND = "SELECT kind FROM categories WHERE user_id = $1 AND category_id = $2 FOR SHARE"

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
_LOCK_TREES = "SELECT pg_advisory_xact_lock(hashtextextended('categories/' || $1, 0))"

_HAS_CHILDREN = (
    "SELECT EXISTS (SELECT 1 FROM categories WHERE user_id = $1 AND parent_category_id = $2)"
)

_KINDS = "SELECT category_id, kind FROM categories WHERE user_id = $1 AND category_id = ANY($2)"


def _parent(c: Comparison, param: AddParam) -> str:
    """`parent = "users/u/categories/c"`, or `parent = ""` for top-level categories; `!=`
    holds for top-level ones too, as an empty name differs from any other."""
    if c.reference is None:
        top_level = "parent_category_id IS NULL"
        return top_level if c.op == "=" else f"NOT ({top_level})"
    if not isinstance(c.reference, CategoryKey):
        raise invalid_filter("'parent' takes = or != and a category's name")
    matches = (
        f"(user_id = {param(c.reference.user_id)}"
        f" AND parent_category_id = {param(c.reference.category_id)})"
    )
    return matches if c.op == "=" else f"(parent_category_id IS NULL OR NOT {matches})"


def _category(row: asyncpg.Record) -> Category:
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


CATEGORIES = Table(
    name="categories",
    columns=_COLUMNS,
    key_columns=("user_id", "category_id"),
    listing=Listing(
        fields={
            "display_name": Field("display_name", Kind.TEXT),
            "kind": Field("kind", Kind.ENUM, {f"KIND_{k.name}": k.value for k in CategoryKind}),
            "parent": Field("parent_category_id", Kind.CUSTOM, compile=_parent),
            "create_time": Field("create_time", Kind.TIMESTAMP),
            "update_time": Field("update_time", Kind.TIMESTAMP),
        },
        id_column="category_id",
        default_order=(OrderKey("create_time"),),
    ),
    from_row=_category,
)


class CategoryRepository(RowRepository[Category, CategoryKey]):
    """Reads and writes categories."""

    table = CATEGORIES

    async def insert(self, key: CategoryKey, new: NewCategory) -> Category:
        """Insert a category. Raises NotFound for an unknown owner."""
        return await self._insert_owned(
            _INSERT,
            UserKey(key.user_id),
            key.category_id,
            new.display_name,
            new.kind.value,
            None if new.parent is None else new.parent.category_id,
        )

    async def list_owned(self, owner: UserKey, query: ListQuery) -> Page[Category]:
        """One page of the owner's categories."""
        return await self.list(query, scope={"user_id": owner.user_id})

    async def kind_of(self, key: CategoryKey) -> CategoryKind | None:
        """The kind of a category, None if it does not exist; it cannot be deleted before this
        transaction ends."""
        kind: str | None = await self._connection.fetchval(_KIND, key.user_id, key.category_id)
        return None if kind is None else CategoryKind(kind)

    async def lock_trees(self, owner: UserKey) -> None:
        """Serialize moves within the owner's trees until this transaction ends."""
        await self._connection.execute(_LOCK_TREES, owner.user_id)

    async def is_ancestor_or_self(self, ancestor: CategoryKey, of: CategoryKey) -> bool:
        """Whether `ancestor` is `of` or one of its ancestors (both of one owner)."""
        found: bool = await self._connection.fetchval(
            _IS_ANCESTOR_OR_SELF, of.user_id, of.category_id, ancestor.category_id
        )
        return found

    async def has_children(self, key: CategoryKey) -> bool:
        """Whether any category has `key` as its parent."""
        found: bool = await self._connection.fetchval(_HAS_CHILDREN, key.user_id, key.category_id)
        return found

    async def kinds(
        self, owner: UserKey, category_ids: Iterable[str | None]
    ) -> dict[str, CategoryKind]:
        """The kind of each of the owner's categories among `category_ids` (unknown ones and
        other users' are left out)."""
        wanted = [c for c in dict.fromkeys(category_ids) if c is not None]
        if not wanted:
            return {}
        rows = await self._connection.fetch(_KINDS, owner.user_id, wanted)
        return {r["category_id"]: CategoryKind(r["kind"]) for r in rows}
