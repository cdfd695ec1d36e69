"""UserService over a real channel and a real database."""

import uuid

import grpc
import pytest
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

    async def test_takes_a_user_id_in_the_form_the_server_assigns(self, users):
        # A UUID that starts with a digit, as most assigned ones do: not a client-chosen form.
        user_id = "0" + str(uuid.uuid4())[1:]
        created = await users.CreateUser(U.CreateUserRequest(user=new_user(), user_id=user_id))
        assert created.name == f"users/{user_id}"
        assert await users.GetUser(U.GetUserRequest(name=created.name)) == created

    @pytest.mark.parametrize("length", [4, 63])
    async def test_takes_a_chosen_user_id_of_4_to_63_characters(self, users, length):
        user_id = ("q" + uuid.uuid4().hex * 2)[:length]
        created = await users.CreateUser(U.CreateUserRequest(user=new_user(), user_id=user_id))
        assert await users.GetUser(U.GetUserRequest(name=created.name)) == created

    @pytest.mark.parametrize(
        "user_id",
        [
            "abc",
            "a" * 64,
            "1abc",
            "abcd-",
            "ab_cd",
            "Abcd",
            "abcd\n",
            str(uuid.UUID(int=1)) + "\n",
            str(uuid.uuid4()).upper(),
            "0" + uuid.uuid4().hex[1:],
            "{" + str(uuid.uuid4()) + "}",
        ],
    )
    async def test_rejects_a_malformed_user_id(self, users, user_id):
        request = U.CreateUserRequest(user=new_user(), user_id=user_id)
        assert list(await invalid_fields(users.CreateUser(request))) == ["user_id"]

    async def test_rejects_taken_user_id(self, users):
        user_id = f"taken-{uuid.uuid4().hex[:8]}"
        await users.CreateUser(U.CreateUserRequest(user=new_user(), user_id=user_id))
        error = await rpc_error(
            users.CreateUser(U.CreateUserRequest(user=new_user(), user_id=user_id)),
            grpc.StatusCode.ALREADY_EXISTS,
        )
        info = unpack(error, error_details_pb2.ResourceInfo)
        assert info.resource_name == f"users/{user_id}"

    async def test_a_retry_with_a_chosen_user_id_returns_the_user(self, users):
        request = U.CreateUserRequest(
            user=new_user(), user_id=f"ada-{uuid.uuid4().hex[:8]}", request_id=str(uuid.uuid4())
        )
        first = await users.CreateUser(request)
        assert await users.CreateUser(request) == first

    async def test_a_chosen_user_id_taken_by_another_request_id_already_exists(self, users):
        user_id = f"taken-{uuid.uuid4().hex[:8]}"
        requests = [
            U.CreateUserRequest(user=new_user(), user_id=user_id, request_id=str(uuid.uuid4()))
            for _ in range(2)
        ]
        await users.CreateUser(requests[0])
        await rpc_error(users.CreateUser(requests[1]), grpc.StatusCode.ALREADY_EXISTS)

    async def test_a_request_id_reused_for_another_user_of_a_chosen_id_is_rejected(self, users):
        request = U.CreateUserRequest(
            user=new_user(), user_id=f"ada-{uuid.uuid4().hex[:8]}", request_id=str(uuid.uuid4())
        )
        await users.CreateUser(request)
        request.user.display_name = "Someone else"
        assert list(await invalid_fields(users.CreateUser(request))) == ["request_id"]

    async def test_the_same_request_id_with_two_chosen_user_ids_creates_both(self, users):
        # A request_id is one of a user's, as for every other method.
        request_id = str(uuid.uuid4())
        created = [
            await users.CreateUser(
                U.CreateUserRequest(user=new_user(), user_id=user_id, request_id=request_id)
            )
            for user_id in (f"one-{uuid.uuid4().hex[:8]}", f"two-{uuid.uuid4().hex[:8]}")
        ]
        assert created[0].name != created[1].name

    async def test_an_assigned_id_follows_from_the_request_id(self, users):
        request_id = str(uuid.uuid4())
        first = await users.CreateUser(U.CreateUserRequest(user=new_user(), request_id=request_id))
        await users.DeleteUser(U.DeleteUserRequest(name=first.name))
        # A retry after the user is gone creates it again, under the same name.
        again = await users.CreateUser(U.CreateUserRequest(user=new_user(), request_id=request_id))
        assert again.name == first.name
        assert again.etag != first.etag

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

    async def test_refuses_while_the_user_owns_accounts(self, users, accounts, user):
        await create_account(accounts, user.name, display_name="Cash")
        error = await rpc_error(
            users.DeleteUser(U.DeleteUserRequest(name=user.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        failure = unpack(error, error_details_pb2.PreconditionFailure)
        assert failure.violations[0].type == "USER_NOT_EMPTY"
        assert failure.violations[0].description.startswith("the user still has 1 account;")
        await users.GetUser(U.GetUserRequest(name=user.name))
