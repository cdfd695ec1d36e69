"""Page sizes and opaque page tokens (AIP-158) over keyset cursors."""

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from service.api.bad_request import BadRequest
from service.api.filtering import parse_filter, resolve_references
from service.api.ordering import parse_order_by
from service.api.validation import Violations
from service.domain.listing import Cursor, ListQuery

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
# Far above the longest token this service issues (a few sort keys of at most a few hundred
# characters each), and small enough that decoding a forged one costs little.
MAX_PAGE_TOKEN_LENGTH = 16384


def list_query(
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
    after = violations.check(
        lambda: decode_token(page_token, _binding(scope, filter_text, order_by))
    )
    violations.raise_if_any()
    return ListQuery(
        page_size=min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
        filter=expression,
        order_by=order or (),
        after=after,
    )


def next_page_token(
    cursor: Cursor | None, *, filter_text: str, order_by: str, scope: str = ""
) -> str:
    """The token for the page after `cursor`; empty when there is no next page."""
    if cursor is None:
        return ""
    payload = {"b": _binding(scope, filter_text, order_by), "c": [_encode(v) for v in cursor]}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_token(token: str, binding: str) -> Cursor | None:
    """The cursor inside a page token; None for an empty token."""
    if not token:
        return None
    if len(token) > MAX_PAGE_TOKEN_LENGTH:
        raise BadRequest.single("page_token", "is not a page token this service issued")
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = tuple(_decode(v) for v in payload["c"])
        bound = payload["b"]
    except Exception:
        # A forged token can fail in any way (RecursionError on deeply nested JSON too): each
        # is the caller's mistake, not the service's.
        raise BadRequest.single("page_token", "is not a page token this service issued") from None
    if bound != binding:
        raise BadRequest.single(
            "page_token", "was issued for a request with another parent, filter or order_by"
        )
    return values


def _binding(scope: str, filter_text: str, order_by: str) -> str:
    digest = hashlib.sha256(json.dumps([scope, filter_text, order_by]).encode()).hexdigest()
    return digest[:16]


def _encode(value: object) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if isinstance(value, str | int):
        return value
    raise TypeError(f"cannot put {type(value).__name__} in a page token")


def _decode(value: Any) -> object:
    if isinstance(value, dict) and "t" in value:
        return datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and "d" in value:
        return date.fromisoformat(value["d"])
    if isinstance(value, dict) and "n" in value:
        return Decimal(value["n"])
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL character in page token")
    if isinstance(value, str | int):
        return value
    raise ValueError("unexpected value in page token")


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
        *,
        scope: str = "",
        references: Mapping[str, str] | None = None,
    ) -> None:
        self._binding = {
            "scope": scope,
            "filter_text": request.filter,
            "order_by": getattr(request, "order_by", ""),
        }
        self.query = list_query(
            page_size=request.page_size,
            page_token=request.page_token,
            references=references,
            **self._binding,
        )

    def next_page_token(self, cursor: Cursor | None) -> str:
        """The token of the page after the one `cursor` ends; empty on the last page."""
        return next_page_token(cursor, **self._binding)
