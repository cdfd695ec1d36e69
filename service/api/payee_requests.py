"""Validating PayeeService requests into domain commands."""

import uuid
from dataclasses import dataclass

from finance.v1 import payee_service_pb2

from service.api import names
from service.api.masks import update_paths
from service.api.text import require_text
from service.api.validation import Violations, parse_etag, parse_request_id
from service.domain.keys import PayeeKey, UserKey
from service.domain.payees import NewPayee, PayeeChanges

UPDATABLE = ("display_name",)


@dataclass(frozen=True)
class CreatePayee:
    """A validated CreatePayee request."""

    owner: UserKey
    new: NewPayee
    request_id: uuid.UUID | None


@dataclass(frozen=True)
class UpdatePayee:
    """A validated UpdatePayee request."""

    key: PayeeKey
    changes: PayeeChanges
    expected_revision: int | None


def parse_create(request: payee_service_pb2.CreatePayeeRequest) -> CreatePayee:
    """The owner, new payee and request id of a CreatePayee request."""
    violations = Violations()
    owner = violations.check(lambda: names.parse_user_name(request.parent, "parent"))
    if not request.HasField("payee"):
        violations.add("payee", "is required")
    display_name = violations.check(
        lambda: require_text(request.payee.display_name, "payee.display_name")
    )
    request_id = violations.check(lambda: parse_request_id(request.request_id))
    violations.raise_if_any()
    assert owner is not None
    assert display_name is not None
    return CreatePayee(owner, NewPayee(display_name), request_id)


def parse_update(request: payee_service_pb2.UpdatePayeeRequest) -> UpdatePayee:
    """The key, changes and expected revision of an UpdatePayee request."""
    violations = Violations()
    payee = request.payee
    key = violations.check(lambda: names.parse_payee_name(payee.name, "payee.name"))
    paths = update_paths(request, violations, UPDATABLE)
    display_name = None
    if "display_name" in paths:
        display_name = violations.check(
            lambda: require_text(payee.display_name, "payee.display_name")
        )
    revision = violations.check(lambda: parse_etag(payee.etag, "payee.etag"))
    violations.raise_if_any()
    assert key is not None
    return UpdatePayee(key, PayeeChanges(display_name=display_name), revision)
