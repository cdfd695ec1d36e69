"""Validating UserService requests into domain commands."""

import re
import uuid
from dataclasses import dataclass

from finance.v1 import user_service_pb2

from service.api import names
from service.api.masks import update_paths
from service.api.text import check_characters, require_text
from service.api.validation import Violations, parse_etag, parse_request_id
from service.domain.errors import excerpt
from service.domain.keys import UserKey
from service.domain.models import NewUser, UserChanges

UPDATABLE = ("display_name", "email")
# Fields an update mask may name but an update never changes (AIP-203: ignored, not rejected).
OUTPUT_ONLY = ("name", "create_time", "update_time", "etag")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class CreateUser:
    """A validated CreateUser request."""

    new: NewUser
    request_id: uuid.UUID | None


@dataclass(frozen=True)
class UpdateUser:
    """A validated UpdateUser request."""

    key: UserKey
    changes: UserChanges
    expected_revision: int | None


def _email(value: str, field: str, violations: Violations) -> str:
    email = (violations.check(lambda: check_characters(value, field)) or "").strip()
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        violations.add(field, f"{excerpt(email)} is not an e-mail address")
    return email


def parse_create(request: user_service_pb2.CreateUserRequest) -> CreateUser:
    """The new user and request id of a CreateUser request."""
    violations = Violations()
    if not request.HasField("user"):
        violations.add("user", "is required")
    display_name = violations.check(
        lambda: require_text(request.user.display_name, "user.display_name")
    )
    email = _email(request.user.email, "user.email", violations)
    if request.user_id and not names.USER_ID.fullmatch(request.user_id):
        violations.add(
            "user_id",
            "must be 4 to 63 lowercase letters, digits or hyphens, starting with a letter"
            " and not ending with a hyphen, or a lowercase UUID",
        )
    request_id = violations.check(lambda: parse_request_id(request.request_id))
    violations.raise_if_any()
    assert display_name is not None
    return CreateUser(NewUser(display_name, email, request.user_id or None), request_id)


def parse_update(request: user_service_pb2.UpdateUserRequest) -> UpdateUser:
    """The key, changes and expected revision of an UpdateUser request."""
    violations = Violations()
    key = violations.check(lambda: names.parse_user_name(request.user.name, "user.name"))
    paths = update_paths(request, violations, UPDATABLE, ignored=OUTPUT_ONLY)
    display_name = None
    if "display_name" in paths:
        display_name = violations.check(
            lambda: require_text(request.user.display_name, "user.display_name")
        )
    email = _email(request.user.email, "user.email", violations) if "email" in paths else None
    revision = violations.check(lambda: parse_etag(request.user.etag, "user.etag"))
    violations.raise_if_any()
    assert key is not None
    return UpdateUser(key, UserChanges(display_name=display_name, email=email), revision)
