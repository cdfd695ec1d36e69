"""Errors as callers see them: ErrorInfo on every status, bounded size however long the input,
and INVALID_ARGUMENT for bytes that are no request."""

import logging
import uuid

import grpc
import pytest
from finance.v1 import account_service_pb2, user_service_pb2
from google.rpc import code_pb2, error_details_pb2

from service.api import errors
from service.api.authentication import NoAuthentication
from service.api.bad_request import BadRequest
from service.api.interceptor import RpcInterceptor
from service.domain.errors import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    EtagMismatch,
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from service.domain.keys import AccountKey, UserKey
from tests.builders import create_account, new_account
from tests.helpers import field_violations, rpc_error, unpack

A = account_service_pb2
U = user_service_pb2
HUGE = 20_000


class TestEchoedInput:
    @pytest.mark.parametrize(
        "call",
        [
            lambda users, accounts, user: users.GetUser(U.GetUserRequest(name="n" * HUGE)),
            lambda users, accounts, user: users.ListUsers(U.ListUsersRequest(filter="f" * HUGE)),
            lambda users, accounts, user: users.ListUsers(
                U.ListUsersRequest(filter="f" * 1990 + " = 1")
            ),
            lambda users, accounts, user: users.ListUsers(U.ListUsersRequest(order_by="o" * HUGE)),
            lambda users, accounts, user: users.ListUsers(
                U.ListUsersRequest(order_by="a b c" * HUGE)
            ),
            lambda users, accounts, user: users.CreateUser(
                U.CreateUserRequest(user=U.User(display_name="x", email="e" * HUGE))
            ),
            lambda users, accounts, user: accounts.CreateAccount(
                A.CreateAccountRequest(
                    parent=user.name, account=new_account(currency_code="€" * HUGE)
                )
            ),
        ],
    )
    async def test_errors_quote_only_an_excerpt_of_huge_values(self, users, accounts, user, call):
        error = await rpc_error(call(users, accounts, user), grpc.StatusCode.INVALID_ARGUMENT)
        assert len(error.details() or "") <= 1000
        for description in field_violations(error).values():
            assert len(description) <= 300

    async def test_long_values_are_cut_with_an_ellipsis(self, users):
        error = await rpc_error(
            users.GetUser(U.GetUserRequest(name="n" * 100)), grpc.StatusCode.INVALID_ARGUMENT
        )
        expected = f"'{'n' * 63}…' is not a resource name of the form users/{{user}}"
        assert field_violations(error) == {"name": expected}


class TestMalformedMessages:
    @pytest.mark.parametrize("payload", [b"\x0a\x05ab", b"\x0a\x02\xff\xfe"])
    async def test_undecodable_request_is_invalid_argument_and_logged(
        self, channel, caplog, payload
    ):
        call = channel.unary_unary("/finance.v1.UserService/GetUser")
        with caplog.at_level(logging.INFO):
            error = await rpc_error(call(payload), grpc.StatusCode.INVALID_ARGUMENT)
        assert "Decode" not in (error.details() or "")
        assert "class" not in (error.details() or "")
        assert field_violations(error) == {"request": "is not a valid message for this method"}
        finished = [r for r in caplog.records if r.getMessage() == "rpc finished"]
        assert finished[-1].__dict__["method"] == "/finance.v1.UserService/GetUser"
        assert finished[-1].__dict__["code"] == "INVALID_ARGUMENT"


def error_info(error: grpc.aio.AioRpcError) -> tuple[str, str]:
    info = unpack(error, error_details_pb2.ErrorInfo)
    return info.reason, info.domain


class TestErrorInfo:
    async def test_invalid_argument_keeps_its_field_violations(self, users):
        error = await rpc_error(
            users.GetUser(U.GetUserRequest(name="bad")), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert error_info(error) == ("INVALID_ARGUMENT", "finance-tracker")
        assert list(field_violations(error)) == ["name"]

    async def test_not_found_keeps_its_resource_info(self, users):
        error = await rpc_error(
            users.GetUser(U.GetUserRequest(name="users/nobody-here")), grpc.StatusCode.NOT_FOUND
        )
        assert error_info(error) == ("RESOURCE_NOT_FOUND", "finance-tracker")
        assert unpack(error, error_details_pb2.ResourceInfo).resource_name == "users/nobody-here"

    async def test_already_exists(self, users):
        request = U.CreateUserRequest(user=U.User(display_name="x"), user_id=f"u-{uuid.uuid4()}")
        await users.CreateUser(request)
        error = await rpc_error(users.CreateUser(request), grpc.StatusCode.ALREADY_EXISTS)
        assert error_info(error) == ("RESOURCE_ALREADY_EXISTS", "finance-tracker")

    async def test_failed_precondition_reason_is_the_violation_type(self, users, accounts, user):
        await create_account(accounts, user.name)
        error = await rpc_error(
            users.DeleteUser(U.DeleteUserRequest(name=user.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert error_info(error) == ("USER_NOT_EMPTY", "finance-tracker")
        assert unpack(error, error_details_pb2.PreconditionFailure).violations[0].subject


async def many_violations(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    # Many long descriptions, all in characters that take 3 bytes and 9 percent-encoded.
    raise InvalidArgument(
        [FieldViolation(f"transaction.postings[{i}].memo", "€" * 1000) for i in range(100)]
    )


class TestErrorSize:
    async def test_an_error_with_many_long_violations_still_reaches_the_client(self):
        server = grpc.aio.server(interceptors=[RpcInterceptor(NoAuthentication())])
        handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(
            many_violations
        )
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler("test.Test", {"Fail": handler})]
        )
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                call: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
                    "/test.Test/Fail"
                )
                for _ in range(20):  # past 8 KiB, clients refuse some trailers and not others
                    error = await rpc_error(call(b""), grpc.StatusCode.INVALID_ARGUMENT)
            assert 0 < len(field_violations(error)) < 100
            assert len((error.details() or "").encode()) <= 1000
        finally:
            await server.stop(None)


class TestErrorMap:
    @pytest.mark.parametrize(
        ("error", "code"),
        [
            (InvalidArgument.single("amount", "must be positive"), code_pb2.INVALID_ARGUMENT),
            (NotFound(UserKey("ada")), code_pb2.NOT_FOUND),
            (AlreadyExists(UserKey("ada")), code_pb2.ALREADY_EXISTS),
            (EtagMismatch(AccountKey("ada", "a")), code_pb2.ABORTED),
            (Aborted("conflicts"), code_pb2.ABORTED),
            (Unavailable("down"), code_pb2.UNAVAILABLE),
            (DeadlineExceeded("too long"), code_pb2.DEADLINE_EXCEEDED),
            (ResourceExhausted("busy", reason="X", retry_after=1), code_pb2.RESOURCE_EXHAUSTED),
        ],
    )
    def test_each_domain_error_has_its_code(self, error, code):
        assert errors.to_status(error, "AnyMethod").code == code

    def test_a_service_field_is_placed_in_the_request_message_of_its_method(self):
        error = InvalidArgument.single("parent", "is for income")
        assert _fields(errors.to_status(error, "CreateCategory")) == ["category.parent"]
        assert _fields(errors.to_status(error, "ListCategories")) == ["parent"]
        postings = InvalidArgument.single("postings[1].amount.currency_code", "must be EUR")
        assert _fields(errors.to_status(postings, "CreateTransaction")) == [
            "transaction.postings[1].amount.currency_code"
        ]

    def test_a_request_field_stays_as_the_api_named_it(self):
        error = BadRequest.single("parent", "is required")
        assert _fields(errors.to_status(error, "CreateCategory")) == ["parent"]

    @pytest.mark.parametrize(
        ("error", "delay_ms"),
        [
            (ResourceExhausted("slow down", reason="RATE_LIMIT_EXCEEDED", retry_after=0.25), 250),
            # Rounded up: a caller that waits as long finds the limit passed.
            (ResourceExhausted("slow down", reason="RATE_LIMIT_EXCEEDED", retry_after=0.0101), 11),
            (Unavailable("down"), 1000),
        ],
    )
    def test_retry_info_says_when_and_so_does_the_grpc_retry_pushback(self, error, delay_ms):
        status = errors.to_status(error, "AnyMethod")
        retry = error_details_pb2.RetryInfo()
        assert any(detail.Unpack(retry) for detail in status.details)
        assert retry.retry_delay.ToMilliseconds() == delay_ms
        trailers = dict(errors.trailers(status))
        assert trailers["grpc-retry-pushback-ms"] == str(delay_ms)
        assert trailers["grpc-status-details-bin"] == status.SerializeToString()

    def test_no_pushback_without_retry_info(self):
        trailers = dict(errors.trailers(errors.to_status(NotFound(UserKey("ada")))))
        assert "grpc-retry-pushback-ms" not in trailers


def _fields(status) -> list[str]:
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            return [v.field for v in bad_request.field_violations]
    raise AssertionError("no BadRequest detail")
