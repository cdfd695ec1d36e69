"""Collecting every invalid field of a request before rejecting it."""

import re
import uuid
from collections.abc import Callable
from typing import TypeVar

from service.api.bad_request import BadRequest
from service.domain.errors import FieldViolation, InvalidArgument

T = TypeVar("T")

# What format_etag makes of a revision; 18 digits keep every etag within a bigint.
_ETAG = re.compile(r'"[0-9]{1,18}"')
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class Violations:
    """Gathers field violations so one response can name every invalid field at once."""

    def __init__(self) -> None:
        self._found: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        """Record that `field` is invalid."""
        self._found.append(FieldViolation(field, description))

    def check(self, parse: Callable[[], T]) -> T | None:
        """Run `parse`; on InvalidArgument, keep its violations and return None."""
        try:
            return parse()
        except InvalidArgument as error:
            self._found.extend(error.violations)
            return None

    def raise_if_any(self) -> None:
        """Raise InvalidArgument naming every violation recorded."""
        if self._found:
            raise BadRequest(self._found)


def name_and_etag(parse_name: Callable[[str], T], name: str, etag: str) -> tuple[T, int | None]:
    """The key named by `name` and the revision of `etag`, reporting both if both are bad."""
    violations = Violations()
    key = violations.check(lambda: parse_name(name))
    revision = violations.check(lambda: parse_etag(etag))
    violations.raise_if_any()
    assert key is not None
    return key, revision


def parse_request_id(value: str) -> uuid.UUID | None:
    """The request id as a UUID, None when empty (AIP-155); InvalidArgument on `request_id` if it
    is not a UUID in its hyphenated form, or is the nil UUID."""
    if not value:
        return None
    # uuid.UUID alone also takes spaces, underscores, braces and URNs around the 32 digits.
    if not _UUID.fullmatch(value):
        raise BadRequest.single("request_id", "must be a UUID")
    request_id = uuid.UUID(value)
    # All zeros is what an unset UUID field of a client becomes: it would make unrelated requests
    # of that client retries of each other.
    if request_id.int == 0:
        raise BadRequest.single("request_id", "must not be the nil UUID")
    return request_id


def parse_etag(value: str, field: str = "etag") -> int | None:
    """The revision an etag stands for; None when empty."""
    if not value:
        return None
    if not _ETAG.fullmatch(value):
        raise BadRequest.single(field, "is not an etag this service issued")
    return int(value[1:-1])


def format_etag(revision: int) -> str:
    """The etag of a resource at `revision` (a quoted string, as in HTTP)."""
    return f'"{revision}"'
