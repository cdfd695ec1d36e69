"""Hostile input over a real channel: every bad value is INVALID_ARGUMENT naming its field, never
INTERNAL; output-only fields in update masks are ignored; documented order_by fields work."""

import base64
import json
import re
from pathlib import Path

import grpc
import pytest
from finance.v1 import account_service_pb2, user_service_pb2
from google.protobuf import field_mask_pb2

from service.api.bad_request import BadRequest
from service.api.page_tokens import PageTokens
from service.domain.errors import FieldViolation, InvalidArgument
from tests.builders import create_account, money, new_account
from tests.helpers import invalid_fields, rpc_error

A = account_service_pb2
U = user_service_pb2
HUGE = 20_000
PROTOS = Path(__file__).resolve().parent.parent / "protos" / "finance" / "v1"


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=paths)


def forged_token(token: str, cursor: list[object]) -> str:
    """`token` with its cursor replaced and its signature kept: what a client tampering with a
    page token sends."""
    encoded, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    payload["c"] = cursor
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode() + "." + signature


class TestNulCharacters:
    async def test_rejects_nul_in_user_fields(self, users):
        user = U.User(display_name="Ada\x00", email="ada\x00@example.org")
        violations = await invalid_fields(users.CreateUser(U.CreateUserRequest(user=user)))
        nul_at_3 = "must not contain control characters (U+0000 at position 3)"
        assert violations["user.display_name"] == nul_at_3
        assert violations["user.email"] == nul_at_3

    async def test_rejects_nul_in_account_display_name(self, accounts, user):
        request = A.CreateAccountRequest(parent=user.name, account=new_account(display_name="\x00"))
        violations = await invalid_fields(accounts.CreateAccount(request))
        nul = "must not contain control characters (U+0000 at position 0)"
        assert violations == {"account.display_name": nul}

    @pytest.mark.parametrize(
        "fields",
        [
            {"filter": 'display_name = "a\x00b"'},
            {"filter": "email : a\x00b"},
            {"order_by": "display_name\x00"},
            {"page_token": "\x00"},
        ],
    )
    async def test_rejects_nul_in_list_fields(self, users, fields):
        violations = await invalid_fields(users.ListUsers(U.ListUsersRequest(**fields)))
        assert list(violations) == list(fields)
        assert "\x00" not in next(iter(violations.values()))

    async def test_rejects_nul_inside_a_page_token(self, accounts, user):
        for name in ("A", "B"):
            await create_account(accounts, user.name, display_name=name)
        page = await accounts.ListAccounts(A.ListAccountsRequest(parent=user.name, page_size=1))
        token = forged_token(page.next_page_token, [{"t": "2024-01-01T00:00:00+00:00"}, "a\x00"])
        request = A.ListAccountsRequest(parent=user.name, page_token=token)
        violations = await invalid_fields(accounts.ListAccounts(request))
        assert list(violations) == ["page_token"]

    def test_refuses_nul_even_inside_a_token_it_signed(self):
        tokens = PageTokens.with_random_key()
        token = tokens.issue(("a\x00",), "binding")
        with pytest.raises(BadRequest) as caught:
            tokens.read(token, "binding")
        assert [v.field for v in caught.value.violations] == ["page_token"]
        assert tokens.read(tokens.issue(("a",), "binding"), "binding") == ("a",)


class TestEtags:
    @pytest.mark.parametrize(
        "etag", ['"²"', '"١٢"', '"9223372036854775808"', '"1234567890123456789"', '""', "1"]
    )
    async def test_rejects_etags_this_service_never_issued(self, users, user, etag):
        request = U.DeleteUserRequest(name=user.name, etag=etag)
        violations = await invalid_fields(users.DeleteUser(request))
        assert violations == {"etag": "is not an etag this service issued"}

    async def test_accepts_eighteen_digits(self, users, user):
        request = U.DeleteUserRequest(name=user.name, etag='"999999999999999999"')
        await rpc_error(users.DeleteUser(request), grpc.StatusCode.ABORTED)


class TestFilters:
    @pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
    async def test_rejects_timestamps_out_of_range(self, users, value):
        request = U.ListUsersRequest(filter=f'create_time > "{value}"')
        violations = await invalid_fields(users.ListUsers(request))
        assert violations == {
            "filter": "invalid filter: timestamp for 'create_time' is out of range"
        }

    @pytest.mark.parametrize("opening", ["(", "NOT "])
    async def test_rejects_deep_nesting(self, users, opening):
        text = opening * 3000 + 'display_name = "a"' + (")" * 3000 if opening == "(" else "")
        request = U.ListUsersRequest(filter=text[:2000])
        violations = await invalid_fields(users.ListUsers(request))
        assert violations == {"filter": "invalid filter: nested more than 32 levels deep"}

    async def test_accepts_nesting_up_to_the_limit(self, users):
        text = "(" * 16 + "NOT " * 16 + 'display_name = "a"' + ")" * 16
        await users.ListUsers(U.ListUsersRequest(filter=text, page_size=1))

    async def test_rejects_filters_longer_than_the_limit(self, users):
        # 33,000 comparisons would need more query parameters than PostgreSQL takes.
        text = " OR ".join(["email = a"] * 33_000)
        violations = await invalid_fields(users.ListUsers(U.ListUsersRequest(filter=text)))
        assert violations == {"filter": "invalid filter: must be at most 2000 characters"}


class TestPageTokens:
    @pytest.mark.parametrize("depth", [5_000, 100_000])
    async def test_rejects_deeply_nested_json(self, users, depth):
        token = base64.urlsafe_b64encode(b"[" * depth).decode()
        violations = await invalid_fields(users.ListUsers(U.ListUsersRequest(page_token=token)))
        assert list(violations) == ["page_token"]


class TestUpdateMasks:
    async def test_ignores_output_only_user_fields(self, users, user):
        updated = await users.UpdateUser(
            U.UpdateUserRequest(
                user=U.User(name=user.name, display_name="Renamed", etag=user.etag),
                update_mask=mask("name", "display_name", "create_time", "update_time", "etag"),
            )
        )
        assert updated.display_name == "Renamed"
        assert updated.create_time == user.create_time

    async def test_ignores_output_only_account_fields(self, accounts, user):
        account = await create_account(accounts, user.name, opening_balance=money(5))
        paths = ("balance", "available_balance", "state", "system_managed", "create_time")
        updated = await accounts.UpdateAccount(
            A.UpdateAccountRequest(
                account=A.Account(name=account.name, display_name="Savings", balance=money(9)),
                update_mask=mask("display_name", "name", "update_time", "etag", *paths),
            )
        )
        assert updated.display_name == "Savings"
        assert (updated.balance, updated.state) == (money(5), A.Account.STATE_ACTIVE)

    async def test_still_rejects_immutable_fields(self, accounts, user):
        account = await create_account(accounts, user.name)
        request = A.UpdateAccountRequest(
            account=A.Account(name=account.name, currency_code="USD"),
            update_mask=mask("currency_code", "balance"),
        )
        violations = await invalid_fields(accounts.UpdateAccount(request))
        assert violations["update_mask"].startswith("cannot update 'currency_code';")


class TestDatabaseSafetyNet:
    @pytest.mark.parametrize(
        ("sql", "value"),
        [("SELECT $1::text", "a\x00b"), ("SELECT $1::bigint", 2**70), ("SELECT $1::int", 2**40)],
    )
    async def test_bad_data_is_invalid_argument_not_internal(self, database, sql, value):
        with pytest.raises(InvalidArgument) as caught:
            async with database.connection() as connection:
                await connection.fetchval(sql, value)
        assert caught.value.violations == [
            FieldViolation("request", "a value is malformed or out of range")
        ]


def documented_order_fields(proto: str, message: str) -> list[str]:
    """The fields the comment on `message.order_by` in `proto` says a list can be ordered by."""
    text = (PROTOS / proto).read_text()
    body = text.split(f"message {message} {{", 1)[1].split("\n}", 1)[0]
    comment = re.search(r"((?:[ \t]*//.*\n)+)[ \t]*string order_by", body)
    assert comment is not None
    return [name for name in re.findall(r"`(\w+)`", comment[1]) if name != "desc"]


class TestDocumentedOrder:
    async def test_accounts_can_be_ordered_by_every_documented_field(self, accounts, user):
        fields = documented_order_fields("account_service.proto", "ListAccountsRequest")
        assert "display_name" in fields
        for field in fields:
            request = A.ListAccountsRequest(parent=user.name, order_by=f"{field} desc")
            await accounts.ListAccounts(request)

    async def test_users_can_be_ordered_by_every_documented_field(self, users):
        fields = documented_order_fields("user_service.proto", "ListUsersRequest")
        assert "email" in fields
        for field in fields:
            await users.ListUsers(U.ListUsersRequest(order_by=field, page_size=1))
