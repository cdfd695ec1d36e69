"""Validating MemberService requests into domain commands, and members into messages."""

import uuid
from dataclasses import dataclass

from finance.v1 import member_service_pb2

from service.api import names
from service.api.bad_request import BadRequest
from service.api.convert import timestamp
from service.api.masks import update_paths
from service.api.text import require_text
from service.api.validation import Violations, format_etag, parse_etag, parse_request_id
from service.domain.access import Role
from service.domain.keys import MemberKey, UserKey
from service.domain.members import Member, MemberChanges, NewMember

UPDATABLE = ("role",)
# Output-only fields an update mask may name, as read back from a Get (not the immutable
# principal: a member is re-added to change it).
IGNORED = ("name", "create_time", "update_time", "etag")

ROLES = {
    Role.VIEWER: member_service_pb2.Member.ROLE_VIEWER,
    Role.EDITOR: member_service_pb2.Member.ROLE_EDITOR,
    Role.OWNER: member_service_pb2.Member.ROLE_OWNER,
}
_ROLES_BY_VALUE = {value: role for role, value in ROLES.items()}


@dataclass(frozen=True)
class CreateMember:
    """A validated CreateMember request."""

    owner: UserKey
    new: NewMember
    request_id: uuid.UUID | None


@dataclass(frozen=True)
class UpdateMember:
    """A validated UpdateMember request."""

    key: MemberKey
    changes: MemberChanges
    expected_revision: int | None


def member_to_proto(member: Member) -> member_service_pb2.Member:
    """The API form of a member."""
    return member_service_pb2.Member(
        name=names.resource_name(member.key),
        principal=member.principal,
        role=ROLES[member.role],
        create_time=timestamp(member.create_time),
        update_time=timestamp(member.update_time),
        etag=format_etag(member.revision),
    )


def _role(value: int, field: str) -> Role:
    role: Role | None = _ROLES_BY_VALUE.get(value)  # type: ignore[call-overload]
    if role is None:
        raise BadRequest.single(field, "is required: ROLE_VIEWER, ROLE_EDITOR or ROLE_OWNER")
    return role


def parse_create(request: member_service_pb2.CreateMemberRequest) -> CreateMember:
    """The owner, new member and request id of a CreateMember request."""
    violations = Violations()
    owner = violations.check(lambda: names.parse_user_name(request.parent, "parent"))
    if not request.HasField("member"):
        violations.add("member", "is required")
    principal = violations.check(
        lambda: require_text(request.member.principal, "member.principal", max_length=500)
    )
    role = violations.check(lambda: _role(request.member.role, "member.role"))
    request_id = violations.check(lambda: parse_request_id(request.request_id))
    violations.raise_if_any()
    assert owner is not None
    assert principal is not None
    assert role is not None
    return CreateMember(owner, NewMember(principal, role), request_id)


def parse_update(request: member_service_pb2.UpdateMemberRequest) -> UpdateMember:
    """The key, changes and expected revision of an UpdateMember request."""
    violations = Violations()
    member = request.member
    key = violations.check(lambda: names.parse_member_name(member.name, "member.name"))
    paths = update_paths(request, violations, UPDATABLE, ignored=IGNORED)
    role = None
    if "role" in paths:
        role = violations.check(lambda: _role(member.role, "member.role"))
    revision = violations.check(lambda: parse_etag(member.etag, "member.etag"))
    violations.raise_if_any()
    assert key is not None
    return UpdateMember(key, MemberChanges(role=role), revision)
