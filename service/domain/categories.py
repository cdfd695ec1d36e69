"""Categories: what money was earned from or spent on, arranged in trees of one kind."""

import enum
from dataclasses import dataclass
from datetime import datetime

from service.domain.keys import CategoryKey


class CategoryKind(enum.StrEnum):
    """Whether a category is for money coming in or going out."""

    INCOME = "income"
    EXPENSE = "expense"


@dataclass(frozen=True)
class Category:
    """A label for income or expenses, under `parent_category_id` of the same user and kind."""

    user_id: str
    category_id: str
    display_name: str
    kind: CategoryKind
    parent_category_id: str | None
    revision: int
    create_time: datetime
    update_time: datetime

    @property
    def key(self) -> CategoryKey:
        """The key that identifies this category."""
        return CategoryKey(self.user_id, self.category_id)

    @property
    def parent_key(self) -> CategoryKey | None:
        """The key of the parent category; None for a top-level category."""
        if self.parent_category_id is None:
            return None
        return CategoryKey(self.user_id, self.parent_category_id)


@dataclass(frozen=True)
class NewCategory:
    """What it takes to create a category; `parent` may name any user's category, and is
    checked to be the owner's."""

    display_name: str
    kind: CategoryKind
    parent: CategoryKey | None = None


@dataclass(frozen=True)
class CategoryChanges:
    """New values for the fields of a category an update may change; None leaves one as is."""

    display_name: str | None = None
    # A category may be made top-level (parent None), so whether it moves needs its own flag.
    change_parent: bool = False
    parent: CategoryKey | None = None
