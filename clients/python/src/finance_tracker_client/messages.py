"""Type variables and protocols for the generated messages the clients send and receive."""

from typing import Protocol, TypeVar


class PageRequest(Protocol):
    """A List request (AIP-158): it asks for the page after `page_token`."""

    page_token: str


class Page(Protocol):
    """A List response (AIP-158): `next_page_token` is empty on the last page."""

    @property
    def next_page_token(self) -> str: ...


RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")
PageRequestT = TypeVar("PageRequestT", bound=PageRequest)
PageT = TypeVar("PageT", bound=Page)
