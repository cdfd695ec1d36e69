"""What every resource does alike: paging, parents, create validation, etags, request ids and
tenancy, checked once for each resource it applies to (tests/resources.py describes them)."""

import asyncio
import base64
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool
from google.rpc import error_details_pb2

from service.server import SERVICE_NAMES
from tests import tenancy
from tests.helpers import invalid_fields, rpc_error, unpack
from tests.resources import NOT_A_UUID, RESOURCES, Resource

ALL = list(RESOURCES)
OWNED = [name for name in ALL if name != "users"]  # the resources with a parent user
DELETABLE = [name for name in ALL if name != "transactions"]
UNKNOWN_USER = "users/nobody-here"
NOT_ISSUED = "is not an etag this service issued"
REUSED = "was already used by a different request; use a new one"
BOUND_ELSEWHERE = "was issued for a request with another parent, filter or order_by"
TOKEN_NOT_ISSUED = "is not a page token this service issued"


@pytest.fixture
def resource(request, clients) -> Resource:
    """The resource named by the test's parameter, driven through the shared server."""
    described: Resource = RESOURCES[request.param](clients)
    return described


async def list_all(resource: Resource, scope: str, page_size: int, **fields: Any) -> list[Any]:
    """Every item of `scope`, read `page_size` at a time."""
    found: list[Any] = []
    token = ""
    while True:
        page = await resource.list(scope, page_size=page_size, page_token=token, **fields)
        assert len(page.items) <= page_size
        found += page.items
        token = page.next_page_token
        if not token:
            return found


async def first_page_token(resource: Resource, scope: str) -> str:
    """The token after the first of two items created in `scope`."""
    for label in ("One", "Two"):
        await resource.create(scope, label)
    token = (await resource.list(scope, page_size=1)).next_page_token
    assert token
    return token


async def assert_not_found(call: Any, resource_type: str, resource_name: str) -> None:
    """`call` fails with NOT_FOUND, naming the resource it did not find."""
    info = unpack(await rpc_error(call, grpc.StatusCode.NOT_FOUND), error_details_pb2.ResourceInfo)
    assert (info.resource_type, info.resource_name) == (resource_type, resource_name)


@pytest.mark.parametrize("resource", ALL, indirect=True)
class TestPaging:
    async def test_pages_through_every_item_once_in_the_default_order(self, resource):
        scope = await resource.new_scope()
        created = [await resource.create(scope, f"Item {i}") for i in range(5)]
        listed = await list_all(resource, scope, page_size=2)
        assert [i.name for i in listed] == [i.name for i in resource.default_order(created)]

    @pytest.mark.parametrize("change", ["filter", "order_by"])
    async def test_rejects_a_token_reused_with_another_filter_or_order(self, resource, change):
        scope = await resource.new_scope()
        token = await first_page_token(resource, scope)
        other = {change: getattr(resource, change)}
        request = resource.list(scope, page_size=1, page_token=token, **other)
        assert await invalid_fields(request) == {"page_token": BOUND_ELSEWHERE}

    @pytest.mark.parametrize(
        ("token", "problem"),
        [
            ("%%%", TOKEN_NOT_ISSUED),
            ("garbage", TOKEN_NOT_ISSUED),
            # A well-formed cursor ({"b": "x", "c": []}) that the service did not sign.
            ("eyJiIjogIngiLCAiYyI6IFtdfQ", TOKEN_NOT_ISSUED),
            ("eyJiIjogIngiLCAiYyI6IFtdfQ.AAAAAAAAAAAAAAAAAAAAAA", TOKEN_NOT_ISSUED),
        ],
    )
    async def test_rejects_a_token_it_never_issued(self, resource, token, problem):
        scope = await resource.new_scope()
        violations = await invalid_fields(resource.list(scope, page_token=token))
        assert violations == {"page_token": problem}

    async def test_rejects_a_token_whose_cursor_was_altered(self, resource):
        scope = await resource.new_scope()
        token = await first_page_token(resource, scope)
        payload, mac = token.split(".")
        cursor = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        forged = cursor.replace(b'"c": [', b'"c": ["0", ', 1)
        altered = base64.urlsafe_b64encode(forged).decode().rstrip("=") + "." + mac
        violations = await invalid_fields(resource.list(scope, page_size=1, page_token=altered))
        assert violations == {"page_token": TOKEN_NOT_ISSUED}

    async def test_reports_a_bad_token_and_a_negative_page_size_together(self, resource):
        scope = await resource.new_scope()
        violations = await invalid_fields(resource.list(scope, page_token="%%%", page_size=-1))
        assert set(violations) == {"page_token", "page_size"}


@pytest.mark.parametrize("resource", OWNED, indirect=True)
class TestParent:
    async def test_rejects_a_token_reused_with_another_parent(self, resource):
        scope, other = await resource.new_scope(), await resource.new_scope()
        token = await first_page_token(resource, scope)
        violations = await invalid_fields(resource.list(other, page_size=1, page_token=token))
        assert violations == {"page_token": BOUND_ELSEWHERE}

    async def test_create_under_an_unknown_user_is_not_found(self, resource):
        call = resource.create(UNKNOWN_USER)
        await assert_not_found(call, "finance-tracker/User", UNKNOWN_USER)

    async def test_list_under_an_unknown_user_is_not_found(self, resource):
        await assert_not_found(resource.list(UNKNOWN_USER), "finance-tracker/User", UNKNOWN_USER)


class TestAnotherUsersResource:
    """Every request field that names a user's resource, given another user's: NOT_FOUND,
    naming what was asked for, and nobody's data changes."""

    def test_every_field_naming_a_users_resource_has_a_case(self):
        pool = descriptor_pool.Default()
        files = [pool.FindServiceByName(name).file for name in SERVICE_NAMES]
        cases = [(case.method, case.field) for case in tenancy.CASES]
        assert len(cases) == len(set(cases))
        assert set(cases) == tenancy.resource_name_fields(files)

    @pytest.mark.parametrize("case", tenancy.CASES, ids=str)
    async def test_their_id_under_the_callers_user_is_not_found(self, clients, audit, case):
        await self.check_not_found(clients, audit, case, under_mine=True)

    @pytest.mark.parametrize(
        "case", [case for case in tenancy.CASES if not case.addresses], ids=str
    )
    async def test_a_reference_to_their_resource_is_not_found(self, clients, audit, case):
        await self.check_not_found(clients, audit, case, under_mine=False)

    async def check_not_found(
        self, clients, audit, case: tenancy.Case, *, under_mine: bool
    ) -> None:
        mine, theirs = await tenancy.build_world(clients), await tenancy.build_world(clients)
        foreign = case.foreign_name(mine, theirs, under_mine=under_mine)
        before = [await tenancy.snapshot(clients, audit, w.user) for w in (mine, theirs)]
        await assert_not_found(case.call(clients, mine, foreign), case.resource_type, foreign)
        assert [await tenancy.snapshot(clients, audit, w.user) for w in (mine, theirs)] == before


@pytest.mark.parametrize("resource", ALL, indirect=True)
class TestCreate:
    async def test_reports_every_invalid_field_at_once(self, resource):
        violations = await invalid_fields(resource.create_invalid())
        assert violations == resource.invalid_create_fields


@pytest.mark.parametrize("resource", ALL, indirect=True)
class TestUnknownName:
    async def test_get_and_update_and_delete_are_not_found(self, resource):
        created = await resource.create(await resource.new_scope())
        missing = created.name.rsplit("/", 1)[0] + "/missing"
        await assert_not_found(resource.get(missing), resource.type, missing)
        await assert_not_found(resource.update(missing, "Two"), resource.type, missing)
        if resource.delete is not None:
            await assert_not_found(resource.delete(missing), resource.type, missing)

    async def test_a_name_with_a_final_newline_is_malformed(self, resource):
        created = await resource.create(await resource.new_scope())
        violations = await invalid_fields(resource.get(created.name + "\n"))
        assert list(violations) == ["name"]


@pytest.mark.parametrize("resource", ALL, indirect=True)
class TestEtags:
    async def test_stale_etag_on_update_is_aborted_and_changes_nothing(self, resource):
        created = await resource.create(await resource.new_scope())
        first = await resource.update(created.name, "First", etag=created.etag)
        assert first.etag != created.etag
        stale = resource.update(created.name, "Second", etag=created.etag)
        await rpc_error(stale, grpc.StatusCode.ABORTED)
        assert await resource.get(created.name) == first

    async def test_concurrent_updates_with_one_etag_let_exactly_one_win(self, resource):
        created = await resource.create(await resource.new_scope())

        async def rename(label: str) -> grpc.StatusCode:
            try:
                await resource.update(created.name, label, etag=created.etag)
            except grpc.aio.AioRpcError as error:
                return error.code()
            return grpc.StatusCode.OK

        codes = await asyncio.gather(*(rename(f"Writer {i}") for i in range(8)))
        assert sorted(codes, key=str) == [grpc.StatusCode.ABORTED] * 7 + [grpc.StatusCode.OK]

    @pytest.mark.parametrize("etag", ["garbage", "1", '"1"x', '""'])
    async def test_rejects_a_malformed_etag_on_update(self, resource, etag):
        created = await resource.create(await resource.new_scope())
        violations = await invalid_fields(resource.update(created.name, "Two", etag=etag))
        assert violations == {f"{resource.singular}.etag": NOT_ISSUED}
        assert await resource.get(created.name) == created


@pytest.mark.parametrize("resource", DELETABLE, indirect=True)
class TestDeleteEtags:
    async def test_stale_etag_on_delete_is_aborted_and_changes_nothing(self, resource):
        created = await resource.create(await resource.new_scope())
        current = await resource.update(created.name, "Changed")
        await rpc_error(resource.delete(created.name, etag=created.etag), grpc.StatusCode.ABORTED)
        assert await resource.get(created.name) == current

    @pytest.mark.parametrize("etag", ["garbage", "1", '"1"x', '""'])
    async def test_rejects_a_malformed_etag_on_delete(self, resource, etag):
        created = await resource.create(await resource.new_scope())
        violations = await invalid_fields(resource.delete(created.name, etag=etag))
        assert violations == {"etag": NOT_ISSUED}
        assert await resource.get(created.name) == created


@pytest.mark.parametrize("resource", ALL, indirect=True)
class TestRequestIds:
    async def test_a_retry_returns_the_first_result_and_creates_nothing(self, resource):
        scope, request_id = await resource.new_scope(), str(uuid.uuid4())
        first = await resource.create(scope, request_id=request_id)
        again = await resource.create(scope, request_id=request_id)
        assert again == first
        assert [i.name for i in (await resource.list(scope)).items] == [first.name]

    async def test_concurrent_retries_create_one(self, resource):
        scope, request_id = await resource.new_scope(), str(uuid.uuid4())
        results = await asyncio.gather(
            *(resource.create(scope, request_id=request_id) for _ in range(5))
        )
        assert all(r == results[0] for r in results)
        assert [i.name for i in (await resource.list(scope)).items] == [results[0].name]

    async def test_rejects_the_nil_uuid_and_creates_nothing(self, resource):
        scope = await resource.new_scope()
        violations = await invalid_fields(resource.create(scope, request_id=str(uuid.UUID(int=0))))
        assert violations == {"request_id": "must not be the nil UUID"}
        assert (await resource.list(scope)).items == []

    async def test_takes_the_uuid_after_the_nil_one(self, resource):
        # Unique to this test in the run: CreateUser claims its request ids across all users.
        scope, request_id = await resource.new_scope(), str(uuid.UUID(int=1))
        created = await resource.create(scope, request_id=request_id)
        assert await resource.create(scope, request_id=request_id) == created

    @pytest.mark.parametrize(
        "spelling",
        [
            lambda u: u.hex,
            lambda u: "{" + str(u) + "}",
            lambda u: u.urn,
            lambda u: " " + u.hex[1:],
            lambda u: u.hex[:16] + "_" + u.hex[17:],
        ],
        ids=["digits", "braces", "urn", "space", "underscore"],
    )
    async def test_takes_a_uuid_in_its_hyphenated_form_only(self, resource, spelling):
        scope, request_id = await resource.new_scope(), uuid.uuid4()
        violations = await invalid_fields(resource.create(scope, request_id=spelling(request_id)))
        assert violations == {"request_id": NOT_A_UUID}
        upper = await resource.create(scope, request_id=str(request_id).upper())
        assert await resource.create(scope, request_id=str(request_id)) == upper

    async def test_rejects_a_request_id_reused_for_another_request(self, resource):
        scope, request_id = await resource.new_scope(), str(uuid.uuid4())
        first = await resource.create(scope, "One", request_id=request_id)
        reused = resource.create(scope, "Other", request_id=request_id)
        assert await invalid_fields(reused) == {"request_id": REUSED}
        assert [i.name for i in (await resource.list(scope)).items] == [first.name]
