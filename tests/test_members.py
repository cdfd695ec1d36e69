"""MemberService's standard methods: etags, request ids, pages and filters."""

import uuid

import grpc
from finance.v1 import member_service_pb2 as mpb
from google.protobuf import field_mask_pb2

from tests.helpers import invalid_fields, rpc_error

VIEWER, EDITOR, OWNER = (
    mpb.Member.ROLE_VIEWER,
    mpb.Member.ROLE_EDITOR,
    mpb.Member.ROLE_OWNER,
)


async def _add(members, user, role=VIEWER, request_id: str = "") -> mpb.Member:
    member: mpb.Member = await members.CreateMember(
        mpb.CreateMemberRequest(
            parent=user.name,
            member=mpb.Member(principal=f"p-{uuid.uuid4()}", role=role),
            request_id=request_id,
        )
    )
    return member


def _set_role(
    name: str, role: "mpb.Member.Role.ValueType", etag: str = ""
) -> mpb.UpdateMemberRequest:
    return mpb.UpdateMemberRequest(
        member=mpb.Member(name=name, role=role, etag=etag),
        update_mask=field_mask_pb2.FieldMask(paths=["role"]),
    )


async def test_a_stale_etag_changes_nothing(members, user):
    member = await _add(members, user)
    promoted = await members.UpdateMember(_set_role(member.name, EDITOR, member.etag))
    assert (promoted.role, promoted.etag != member.etag) == (EDITOR, True)
    await rpc_error(
        members.UpdateMember(_set_role(member.name, OWNER, member.etag)), grpc.StatusCode.ABORTED
    )
    await rpc_error(
        members.DeleteMember(mpb.DeleteMemberRequest(name=member.name, etag=member.etag)),
        grpc.StatusCode.ABORTED,
    )
    assert await members.GetMember(mpb.GetMemberRequest(name=member.name)) == promoted


async def test_a_retried_create_returns_the_first_member(members, user):
    request_id = str(uuid.uuid4())
    first = await _add(members, user, request_id=request_id)
    request = mpb.CreateMemberRequest(
        parent=user.name,
        member=mpb.Member(principal=first.principal, role=first.role),
        request_id=request_id,
    )
    assert await members.CreateMember(request) == first


async def test_pages_and_filters(members, user):
    added = [await _add(members, user, role) for role in (VIEWER, EDITOR, VIEWER)]
    first = await members.ListMembers(mpb.ListMembersRequest(parent=user.name, page_size=2))
    rest = await members.ListMembers(
        mpb.ListMembersRequest(parent=user.name, page_size=2, page_token=first.next_page_token)
    )
    assert [m.name for m in [*first.members, *rest.members]] == [m.name for m in added]
    viewers = await members.ListMembers(
        mpb.ListMembersRequest(parent=user.name, filter="role = ROLE_VIEWER")
    )
    assert [m.name for m in viewers.members] == [added[0].name, added[2].name]


async def test_the_principal_cannot_be_changed(members, user):
    member = await _add(members, user)
    violations = await invalid_fields(
        members.UpdateMember(
            mpb.UpdateMemberRequest(
                member=mpb.Member(name=member.name, principal="someone-else"),
                update_mask=field_mask_pb2.FieldMask(paths=["principal"]),
            )
        )
    )
    assert list(violations) == ["update_mask"]
