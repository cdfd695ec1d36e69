"""Parts every ledger request has: its caller, its owner, the user's resources it names, and
free text."""

from service.api import names
from service.api.callers import Metadata, actor
from service.api.validation import Violations, parse_request_id
from service.domain.audit import Caller
from service.domain.errors import InvalidArgument, NotFound


def request_caller(violations: Violations, request_id: str, metadata: Metadata | None) -> Caller:
    """The caller of a request: its actor, and its request_id (a violation if malformed)."""
    return Caller(actor(metadata), violations.check(lambda: parse_request_id(request_id)))


def owned(user_id: str, owner: str | None, kind: str, name: str) -> None:
    """Raise NotFound if a named resource belongs to another user than the request's."""
    # Another user's resource is reported as missing: its existence is not the caller's to know.
    if owner is not None and user_id != owner:
        raise NotFound(kind, name)


def child_id(name: str, collection: str, kind: str, owner: str | None, field: str) -> str | None:
    """The id of an optional `users/{owner}/{collection}/{id}` reference; None when empty."""
    if not name:
        return None
    user_id, resource_id = names.parse_user_child(name, collection, field)
    owned(user_id, owner, kind, name)
    return resource_id


def optional_text(value: str, field: str, max_length: int) -> str:
    """Free text, stripped: at most `max_length` characters and no NUL."""
    text = value.strip()
    if len(text) > max_length:
        raise InvalidArgument.single(field, f"must be at most {max_length} characters")
    if "\x00" in text:
        raise InvalidArgument.single(field, "must not contain NUL characters")
    return text


def parse_owner(parent: str, violations: Violations) -> str | None:
    """The user id of a `parent`, or None after recording a violation."""
    key = violations.check(lambda: names.parse_user_name(parent, "parent"))
    return None if key is None else key.user_id
