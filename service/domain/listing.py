"""What a List call asks for (filter, order, page) and what it gets back."""

from dataclasses import dataclass
from typing import Generic, TypeVar

from service.domain.filtering import Expression

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
    """The items of one page and the cursor of the next page (None on the last)."""

    items: list[T]
    next_cursor: Cursor | None


def parse_order_by(text: str) -> tuple[OrderKey, ...]:
    """Parse an AIP-132 `order_by` ("display_name desc, create_time") into order keys."""
    from service.domain.errors import InvalidArgument, excerpt

    if "\x00" in text:
        raise InvalidArgument.single("order_by", "must not contain NUL characters")
    keys = []
    for part in text.split(","):
        words = part.split()
        if not words:
            if text.strip():
                raise InvalidArgument.single("order_by", "empty field in order_by")
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise InvalidArgument.single(
                "order_by", f"expected 'field' or 'field desc', got {excerpt(part.strip())}"
            )
        keys.append(OrderKey(words[0], descending=len(words) == 2 and words[1].lower() == "desc"))
    return tuple(keys)
