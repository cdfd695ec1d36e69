"""What every List of a user's resources shares: an unknown owner is NotFound."""

from typing import TypeVar

from service.db.unit_of_work import Work
from service.domain.errors import NotFound
from service.domain.keys import UserKey
from service.domain.listing import Page

T = TypeVar("T")


async def owned_page(work: Work, owner: UserKey, page: Page[T]) -> Page[T]:
    """`page`, unless it is empty because the owner does not exist: NotFound then (a page
    with items proves the owner exists, and saves the look-up)."""
    if not page.items and not await work.users.exists(owner):
        raise NotFound(owner)
    return page
