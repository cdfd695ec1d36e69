"""Page sizes and opaque page tokens (AIP-158) over keyset cursors."""

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from google.protobuf.message import Message

from service.api.filtering import parse_filter, resolve_references
from service.api.ordering import parse_order_by
from service.api.page_tokens import PageTokens
from service.api.validation import Violations
from service.domain.listing import Cursor, ListQuery, Page

T = TypeVar("T")
M = TypeVar("M", bound=Message)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# The most bytes of items one List response carries: below the 4 MiB a gRPC client takes by
# default, with room for the rest of the response. A page that would pass it is cut short,
# and its next_page_token continues it.
MAX_PAGE_BYTES = 3 * 1024 * 1024


def list_query(
    tokens: PageTokens,
    *,
    page_size: int,
    page_token: str,
    filter_text: str,
    order_by: str,
    scope: str = "",
    references: Mapping[str, str] | None = None,
) -> ListQuery:
    """Validate the paging fields of a List request; InvalidArgument names each bad field.

    `scope` (the parent) with the filter and order is what a page token is bound to: a token
    is rejected if any of them differs from the request that issued it. `references` are the
    filter fields that name resources (field -> collection).
    """
    violations = Violations()
    if page_size < 0:
        violations.add("page_size", "must not be negative")
    expression = violations.check(
        lambda: resolve_references(parse_filter(filter_text), references or {})
    )
    order = violations.check(lambda: parse_order_by(order_by))
    binding = _binding(scope=scope, filter_text=filter_text, order_by=order_by)
    after = violations.check(lambda: tokens.read(page_token, binding))
    violations.raise_if_any()
    return ListQuery(
        page_size=min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        filter=expression,
        order_by=order or (),
        after=after,
    )


def _binding(*, scope: str, filter_text: str, order_by: str) -> str:
    digest = hashlib.sha256(json.dumps([scope, filter_text, order_by]).encode()).hexdigest()
    return digest[:16]


class ListRequest(Protocol):
    """The paging fields every List request has (`order_by` too, on most)."""

    @property
    def page_size(self) -> int: ...

    @property
    def page_token(self) -> str: ...

    @property
    def filter(self) -> str: ...


class Paging:
    """The validated paging of one List request, and the tokens of the pages after it.

    The scope (the parent), filter and order of the request are what its page tokens are
    bound to, so a token is only accepted back with the same ones.
    """

    def __init__(
        self,
        request: ListRequest,
        tokens: PageTokens,
        *,
        scope: str = "",
        references: Mapping[str, str] | None = None,
    ) -> None:
        self._tokens = tokens
        self._binding = {
            "scope": scope,
            "filter_text": request.filter,
            "order_by": getattr(request, "order_by", ""),
        }
        self.query = list_query(
            tokens,
            page_size=request.page_size,
            page_token=request.page_token,
            references=references,
            **self._binding,
        )

    def fit(
        self, page: Page[T], convert: Callable[[T], M], *, budget: int = MAX_PAGE_BYTES
    ) -> tuple[list[M], str]:
        """The page's items as messages, as many as fit in `budget` bytes (one at least), and
        the token of the page after the last one taken."""
        messages: list[M] = []
        size = 0
        for index, item in enumerate(page.items):
            message = convert(item)
            # The item's bytes, its field tag and its length prefix.
            size += message.ByteSize() + 1 + _varint_size(message.ByteSize())
            if messages and size > budget:
                return messages, self.next_page_token(page.cursors[index - 1])
            messages.append(message)
        return messages, self.next_page_token(page.next_cursor)

    def next_page_token(self, cursor: Cursor | None) -> str:
        """The token of the page after the one `cursor` ends; empty on the last page."""
        if cursor is None:
            return ""
        return self._tokens.issue(cursor, _binding(**self._binding))


def _varint_size(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)
