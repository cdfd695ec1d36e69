"""UserService over a real channel and a real database."""

import asyncio
import uuid

import grpc
from finance.v1 import user_service_pb2
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2

from tests.builders import create_account, new_user
from tests.helpers import invalid_fields, rpc_error, unpack

U = user_service_pb2


class TestCreateUser:
    async def test_creates_user_with_assigned_id(self, users):
        created = await users.CreateUser(
            U.CreateUserRequest(user=new_user(email="ada@example.org"))
        )
        assert created.name.startswith("users/")
        uuid.UUID(created.name.removeprefix("users/"))
        assert created.display_name == "Ada Lovelace"
        assert created.email == "ada@example.org"
        assert created.etag
        assert created.create_time.seconds > 0
        assert created.update_time == created.create_time

    async def test_uses_requested_user_id(self, users):
        user_id = f"ada-{uuid.uuid4().hex[:8]}"
        created = await users.CreateUser(U.CreateUserRequest(user=new_user(), user_id=user_id))
        assert created.name == f"users/{user_id}"

    async def test_rejects_taken_user_id(self, users):
        user_id = f"taken-{uuid.uuid4().hex[:8]}"
        await users.CreateUser(U.CreateUserRequest(user=new_user(), user_id=user_id))
        error = await rpc_error(
            users.CreateUser(U.CreateUserRequest(user=new_user(), user_id=user_id)),
            grpc.StatusCode.ALREADY_EXISTS,
        )
        info = unpack(error, error_details_pb2.ResourceInfo)
        assert info.resource_name == f"users/{user_id}"

    async def test_retry_with_same_request_id_returns_the_first_user(self, users):
        request = U.CreateUserRequest(user=new_user(), request_id=str(uuid.uuid4()))
        first = await users.CreateUser(request)
        second = await users.CreateUser(request)
        assert second == first

    async def test_concurrent_retries_create_one_user(self, users):
        request = U.CreateUserRequest(user=new_user(), request_id=str(uuid.uuid4()))
        results = await asyncio.gather(*(users.CreateUser(request) for _ in range(5)))
        assert {r.name for r in results} == {results[0].name}

    async def test_rejects_request_id_reused_for_another_request(self, users):
        request_id = str(uuid.uuid4())
        await users.CreateUser(U.CreateUserRequest(user=new_user("A"), request_id=request_id))
        violations = await invalid_fields(
            users.CreateUser(U.CreateUserRequest(user=new_user("B"), request_id=request_id))
        )
        assert "request_id" in violations

    async def test_reports_every_invalid_field(self, users):
        request = U.CreateUserRequest(
            user=U.User(display_name="  ", email="not-an-email"),
            user_id="Bad_ID",
            request_id="not-a-uuid",
        )
        violations = await invalid_fields(users.CreateUser(request))
        assert set(violations) == {"user.display_name", "user.email", "user_id", "request_id"}

    async def test_rejects_missing_user(self, users):
        violations = await invalid_fields(users.CreateUser(U.CreateUserRequest()))
        assert "user" in violations

    async def test_rejects_too_long_display_name(self, users):
        violations = await invalid_fields(
            users.CreateUser(U.CreateUserRequest(user=new_user("x" * 201)))
        )
        assert "at most 200" in violations["user.display_name"]


class TestGetUser:
    async def test_returns_the_user(self, users, user):
        assert await users.GetUser(U.GetUserRequest(name=user.name)) == user

    async def test_unknown_user_is_not_found_with_resource_info(self, users):
        error = await rpc_error(
            users.GetUser(U.GetUserRequest(name="users/nobody-here")), grpc.StatusCode.NOT_FOUND
        )
        info = unpack(error, error_details_pb2.ResourceInfo)
        assert info.resource_name == "users/nobody-here"
        assert info.resource_type == "finance-tracker/User"

    async def test_rejects_malformed_name(self, users):
        for name in ("", "user/x", "users/", "users/x/y", "users/UPPER"):
            violations = await invalid_fields(users.GetUser(U.GetUserRequest(name=name)))
            assert "name" in violations, name


class TestUpdateUser:
    async def test_updates_fields_in_mask_only(self, users, user):
        updated = await users.UpdateUser(
            U.UpdateUserRequest(
                user=U.User(name=user.name, display_name="Renamed", email="new@example.org"),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            )
        )
        assert updated.display_name == "Renamed"
        assert updated.email == user.email
        assert updated.etag != user.etag
        assert updated.update_time.ToDatetime() > user.update_time.ToDatetime()

    async def test_wildcard_mask_updates_all_fields(self, users, user):
        updated = await users.UpdateUser(
            U.UpdateUserRequest(
                user=U.User(name=user.name, display_name="All", email="all@example.org"),
                update_mask=field_mask_pb2.FieldMask(paths=["*"]),
            )
        )
        assert (updated.display_name, updated.email) == ("All", "all@example.org")

    async def test_rejects_missing_or_unknown_mask(self, users, user):
        violations = await invalid_fields(
            users.UpdateUser(U.UpdateUserRequest(user=U.User(name=user.name, display_name="x")))
        )
        assert "update_mask" in violations
        violations = await invalid_fields(
            users.UpdateUser(
                U.UpdateUserRequest(
                    user=U.User(name=user.name),
                    update_mask=field_mask_pb2.FieldMask(paths=["nickname"]),
                )
            )
        )
        assert "nickname" in violations["update_mask"]

    async def test_stale_etag_is_aborted_and_changes_nothing(self, users, user):
        mask = field_mask_pb2.FieldMask(paths=["display_name"])
        await users.UpdateUser(
            U.UpdateUserRequest(
                user=U.User(name=user.name, display_name="First", etag=user.etag), update_mask=mask
            )
        )
        await rpc_error(
            users.UpdateUser(
                U.UpdateUserRequest(
                    user=U.User(name=user.name, display_name="Second", etag=user.etag),
                    update_mask=mask,
                )
            ),
            grpc.StatusCode.ABORTED,
        )
        assert (await users.GetUser(U.GetUserRequest(name=user.name))).display_name == "First"

    async def test_concurrent_updates_with_same_etag_let_exactly_one_win(self, users, user):
        mask = field_mask_pb2.FieldMask(paths=["display_name"])

        async def rename(name: str) -> grpc.StatusCode:
            try:
                await users.UpdateUser(
                    U.UpdateUserRequest(
                        user=U.User(name=user.name, display_name=name, etag=user.etag),
                        update_mask=mask,
                    )
                )
            except grpc.aio.AioRpcError as error:
                return error.code()
            return grpc.StatusCode.OK

        codes = await asyncio.gather(*(rename(f"Writer {i}") for i in range(8)))
        assert codes.count(grpc.StatusCode.OK) == 1
        assert codes.count(grpc.StatusCode.ABORTED) == 7

    async def test_rejects_malformed_etag(self, users, user):
        violations = await invalid_fields(
            users.UpdateUser(
                U.UpdateUserRequest(
                    user=U.User(name=user.name, display_name="x", etag="garbage"),
                    update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
                )
            )
        )
        assert "user.etag" in violations

    async def test_unknown_user_is_not_found(self, users):
        await rpc_error(
            users.UpdateUser(
                U.UpdateUserRequest(
                    user=U.User(name="users/nobody-here", display_name="x"),
                    update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
                )
            ),
            grpc.StatusCode.NOT_FOUND,
        )


class TestDeleteUser:
    async def test_reports_bad_name_and_bad_etag_together(self, users):
        violations = await invalid_fields(
            users.DeleteUser(U.DeleteUserRequest(name="nope", etag="stale"))
        )
        assert set(violations) == {"name", "etag"}

    async def test_deletes_the_user(self, users, user):
        await users.DeleteUser(U.DeleteUserRequest(name=user.name, etag=user.etag))
        await rpc_error(users.GetUser(U.GetUserRequest(name=user.name)), grpc.StatusCode.NOT_FOUND)
        await rpc_error(
            users.DeleteUser(U.DeleteUserRequest(name=user.name)), grpc.StatusCode.NOT_FOUND
        )

    async def test_stale_etag_is_aborted(self, users, user):
        await users.UpdateUser(
            U.UpdateUserRequest(
                user=U.User(name=user.name, display_name="Changed"),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            )
        )
        await rpc_error(
            users.DeleteUser(U.DeleteUserRequest(name=user.name, etag=user.etag)),
            grpc.StatusCode.ABORTED,
        )
        await users.GetUser(U.GetUserRequest(name=user.name))

    async def test_refuses_while_the_user_owns_accounts(self, users, accounts, user):
        await create_account(accounts, user.name, display_name="Cash")
        error = await rpc_error(
            users.DeleteUser(U.DeleteUserRequest(name=user.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        failure = unpack(error, error_details_pb2.PreconditionFailure)
        assert failure.violations[0].type == "USER_HAS_ACCOUNTS"
        await users.GetUser(U.GetUserRequest(name=user.name))
