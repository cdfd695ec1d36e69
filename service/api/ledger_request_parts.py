"""Parts every ledger request has: its caller, its owner and the user's resources it names."""

from collections.abc import Callable
from dataclasses import astuple
from typing import TypeVar

from service.api import names
from service.api.callers import Metadata, caller, current_principal
from service.api.validation import Violations, parse_etag, parse_request_id
from service.domain.audit import Caller
from service.domain.errors import NotFound
from service.domain.keys import ResourceKey, UserKey

K = TypeVar("K")


def request_caller(violations: Violations, request_id: str, metadata: Metadata | None) -> Caller:
    """The caller of a request: its principal, request_id and note, the last two a violation
    if malformed (the caller returned then stands in until `violations` raises)."""
    parsed_id = violations.check(lambda: parse_request_id(request_id))
    fallback = Caller(current_principal(), parsed_id)
    return violations.check(lambda: caller(metadata, parsed_id)) or fallback


def owned(key: ResourceKey, owner: UserKey | None) -> None:
    """Raise NotFound if a named resource belongs to another user than the request's."""
    # Another user's resource is reported as missing: its existence is not the caller's to know.
    if owner is not None and key.user_id != owner.user_id:
        raise NotFound(key)


def child_id(
    name: str, parse: Callable[[str, str], ResourceKey], owner: UserKey | None, field: str
) -> str | None:
    """The own id of an optional reference to one of the owner's resources; None when empty."""
    if not name:
        return None
    key = parse(name, field)
    owned(key, owner)
    return astuple(key)[1]  # type: ignore[no-any-return]


def parse_owner(parent: str, violations: Violations) -> UserKey | None:
    """The key of a `parent`, or None after recording a violation."""
    return violations.check(lambda: names.parse_user_name(parent, "parent"))


def parse_named_change(
    parse_name: Callable[[str], K],
    name: str,
    etag: str,
    request_id: str,
    metadata: Metadata | None,
) -> tuple[K, int | None, Caller]:
    """The key, expected revision and caller of a request that changes the resource `name`
    names, reporting every bad field at once."""
    violations = Violations()
    key = violations.check(lambda: parse_name(name))
    revision = violations.check(lambda: parse_etag(etag))
    caller = request_caller(violations, request_id, metadata)
    violations.raise_if_any()
    assert key is not None
    return key, revision, caller
