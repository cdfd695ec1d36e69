"""What a List call asks for (filter, order, page) and what it gets back."""

from dataclasses import dataclass
from typing import Generic, TypeVar

from service.domain.filter_syntax import Expression

T = TypeVar("T")

# A position in a listing: the sort-key values of the last item of the previous page.
Cursor = tuple[object, ...]


@dataclass(frozen=True)
class OrderKey:
    """One field of an `order_by`, ascending unless `descending`."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class ListQuery:
    """A page of a listing: which items (filter), in which order, and where to start."""

    page_size: int
    filter: Expression | None = None
    order_by: tuple[OrderKey, ...] = ()
    after: Cursor | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """The items of one page and the cursor of the next page (None on the last); `cursors`
    holds the cursor after each item, so that a page can be cut short and continued."""

    items: list[T]
    next_cursor: Cursor | None
    cursors: tuple[Cursor, ...] = ()
