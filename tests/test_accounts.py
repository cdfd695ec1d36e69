"""AccountService over a real channel and a real database."""

import asyncio
import uuid

import grpc
import pytest
from finance.v1 import account_service_pb2
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from google.type import money_pb2

from tests.builders import create_account, create_user, money, new_account, own_id
from tests.helpers import invalid_fields, rpc_error, unpack

A = account_service_pb2
Account = A.Account


class TestCreateAccount:
    async def test_creates_account_with_opening_balance(self, accounts, user):
        account = await create_account(
            accounts, user.name, opening_balance=money(1234, nanos=560_000_000)
        )
        assert account.name.startswith(f"{user.name}/accounts/")
        assert account.display_name == "Checking"
        assert account.type == Account.TYPE_ASSET
        assert account.state == Account.STATE_ACTIVE
        assert account.balance == money(1234, nanos=560_000_000)
        assert account.opening_balance == money(1234, nanos=560_000_000)
        assert not account.HasField("credit_limit")
        assert account.etag

    async def test_balance_defaults_to_zero(self, accounts, user):
        account = await create_account(accounts, user.name, currency_code="JPY")
        assert account.balance == money_pb2.Money(currency_code="JPY")

    async def test_amounts_follow_the_currency_minor_unit(self, accounts, user):
        jpy = await create_account(
            accounts, user.name, currency_code="JPY", opening_balance=money(500, "JPY")
        )
        assert jpy.balance.units == 500
        kwd = await create_account(
            accounts,
            user.name,
            currency_code="KWD",
            opening_balance=money(-1, "KWD", nanos=-5_000_000),
        )
        assert (kwd.balance.units, kwd.balance.nanos) == (-1, -5000000)

    async def test_amount_may_omit_its_currency(self, accounts, user):
        account = await create_account(
            accounts, user.name, opening_balance=money_pb2.Money(units=7)
        )
        assert account.balance == money(7)

    async def test_credit_limit_is_kept(self, accounts, user):
        account = await create_account(
            accounts, user.name, type=Account.TYPE_LIABILITY, credit_limit=money(500)
        )
        assert account.credit_limit == money(500)

    async def test_retry_with_same_request_id_returns_the_first_account(self, accounts, user):
        request = A.CreateAccountRequest(
            parent=user.name, account=new_account(), request_id=str(uuid.uuid4())
        )
        results = await asyncio.gather(*(accounts.CreateAccount(request) for _ in range(4)))
        assert all(r == results[0] for r in results)
        listed = await accounts.ListAccounts(A.ListAccountsRequest(parent=user.name))
        assert [a.name for a in listed.accounts] == [results[0].name]

    async def test_rejects_request_id_reused_for_another_request(self, accounts, user):
        request_id = str(uuid.uuid4())
        await accounts.CreateAccount(
            A.CreateAccountRequest(parent=user.name, account=new_account(), request_id=request_id)
        )
        violations = await invalid_fields(
            accounts.CreateAccount(
                A.CreateAccountRequest(
                    parent=user.name,
                    account=new_account(display_name="Other"),
                    request_id=request_id,
                )
            )
        )
        assert "request_id" in violations

    async def test_unknown_parent_is_not_found(self, accounts):
        error = await rpc_error(
            create_account(accounts, "users/nobody-here"), grpc.StatusCode.NOT_FOUND
        )
        assert unpack(error, error_details_pb2.ResourceInfo).resource_name == "users/nobody-here"

    async def test_reports_every_invalid_field(self, accounts):
        request = A.CreateAccountRequest(
            parent="people/x",
            account=A.Account(display_name="", type=Account.TYPE_UNSPECIFIED, currency_code="eur"),
            request_id="nope",
        )
        violations = await invalid_fields(accounts.CreateAccount(request))
        assert set(violations) == {
            "parent",
            "account.display_name",
            "account.type",
            "account.currency_code",
            "request_id",
        }

    @pytest.mark.parametrize(
        ("field", "money", "expected_field"),
        [
            ("opening_balance", money(1, nanos=5_000_000), "account.opening_balance.nanos"),
            ("opening_balance", money(1, "USD"), "account.opening_balance.currency_code"),
            ("opening_balance", money(1, nanos=-10_000_000), "account.opening_balance"),
            ("opening_balance", money(2**62), "account.opening_balance"),
            ("opening_balance", money(0, nanos=1_000_000_000), "account.opening_balance.nanos"),
            ("credit_limit", money(-5), "account.credit_limit"),
        ],
    )
    async def test_rejects_inexact_or_foreign_amounts(
        self, accounts, user, field, money, expected_field
    ):
        violations = await invalid_fields(create_account(accounts, user.name, **{field: money}))
        assert expected_field in violations

    async def test_rejects_unknown_enum_value(self, accounts, user):
        violations = await invalid_fields(create_account(accounts, user.name, type=42))
        assert "account.type" in violations

    async def test_rejected_request_stores_nothing(self, accounts, user):
        await invalid_fields(create_account(accounts, user.name, currency_code="XXX1"))
        listed = await accounts.ListAccounts(A.ListAccountsRequest(parent=user.name))
        assert list(listed.accounts) == []


class TestGetAccount:
    async def test_returns_the_account(self, accounts, user):
        account = await create_account(accounts, user.name)
        assert await accounts.GetAccount(A.GetAccountRequest(name=account.name)) == account

    async def test_another_users_account_is_not_found(self, accounts, users, user):
        other = await create_user(users, "Eve")
        account = await create_account(accounts, user.name)
        await rpc_error(
            accounts.GetAccount(
                A.GetAccountRequest(name=f"{other.name}/accounts/{own_id(account.name)}")
            ),
            grpc.StatusCode.NOT_FOUND,
        )

    async def test_rejects_malformed_name(self, accounts, user):
        violations = await invalid_fields(accounts.GetAccount(A.GetAccountRequest(name=user.name)))
        assert "name" in violations


class TestUpdateAccount:
    async def test_updates_display_name_and_credit_limit(self, accounts, user):
        account = await create_account(accounts, user.name, type=Account.TYPE_LIABILITY)
        updated = await accounts.UpdateAccount(
            A.UpdateAccountRequest(
                account=A.Account(
                    name=account.name,
                    display_name="Visa",
                    credit_limit=money(1000),
                    etag=account.etag,
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name", "credit_limit"]),
            )
        )
        assert updated.display_name == "Visa"
        assert updated.credit_limit == money(1000)
        assert updated.balance == account.balance

    async def test_clears_credit_limit_when_in_mask_but_unset(self, accounts, user):
        account = await create_account(accounts, user.name, credit_limit=money(10))
        updated = await accounts.UpdateAccount(
            A.UpdateAccountRequest(
                account=A.Account(name=account.name),
                update_mask=field_mask_pb2.FieldMask(paths=["credit_limit"]),
            )
        )
        assert not updated.HasField("credit_limit")

    async def test_rejects_credit_limit_in_another_currency(self, accounts, user):
        account = await create_account(accounts, user.name)
        violations = await invalid_fields(
            accounts.UpdateAccount(
                A.UpdateAccountRequest(
                    account=A.Account(name=account.name, credit_limit=money(10, "USD")),
                    update_mask=field_mask_pb2.FieldMask(paths=["credit_limit"]),
                )
            )
        )
        assert "account.credit_limit.currency_code" in violations

    async def test_rejects_immutable_fields_in_mask(self, accounts, user):
        account = await create_account(accounts, user.name)
        violations = await invalid_fields(
            accounts.UpdateAccount(
                A.UpdateAccountRequest(
                    account=A.Account(name=account.name, currency_code="USD"),
                    update_mask=field_mask_pb2.FieldMask(paths=["currency_code", "balance"]),
                )
            )
        )
        assert "update_mask" in violations

    async def test_stale_etag_is_aborted(self, accounts, user):
        account = await create_account(accounts, user.name)
        mask = field_mask_pb2.FieldMask(paths=["display_name"])
        await accounts.UpdateAccount(
            A.UpdateAccountRequest(
                account=A.Account(name=account.name, display_name="One", etag=account.etag),
                update_mask=mask,
            )
        )
        await rpc_error(
            accounts.UpdateAccount(
                A.UpdateAccountRequest(
                    account=A.Account(name=account.name, display_name="Two", etag=account.etag),
                    update_mask=mask,
                )
            ),
            grpc.StatusCode.ABORTED,
        )
        current = await accounts.GetAccount(A.GetAccountRequest(name=account.name))
        assert current.display_name == "One"


class TestArchiveAccount:
    async def test_archives_and_unarchives(self, accounts, user):
        account = await create_account(accounts, user.name)
        archived = await accounts.ArchiveAccount(
            A.ArchiveAccountRequest(name=account.name, etag=account.etag)
        )
        assert archived.state == Account.STATE_ARCHIVED
        again = await accounts.ArchiveAccount(A.ArchiveAccountRequest(name=account.name))
        assert again.etag == archived.etag
        active = await accounts.UnarchiveAccount(A.UnarchiveAccountRequest(name=account.name))
        assert active.state == Account.STATE_ACTIVE

    async def test_stale_etag_is_aborted(self, accounts, user):
        account = await create_account(accounts, user.name)
        await accounts.ArchiveAccount(A.ArchiveAccountRequest(name=account.name))
        await rpc_error(
            accounts.UnarchiveAccount(
                A.UnarchiveAccountRequest(name=account.name, etag=account.etag)
            ),
            grpc.StatusCode.ABORTED,
        )


class TestDeleteAccount:
    async def test_deletes_an_empty_account(self, accounts, user):
        account = await create_account(accounts, user.name)
        await accounts.DeleteAccount(A.DeleteAccountRequest(name=account.name, etag=account.etag))
        await rpc_error(
            accounts.GetAccount(A.GetAccountRequest(name=account.name)), grpc.StatusCode.NOT_FOUND
        )

    async def test_refuses_an_account_holding_money(self, accounts, user):
        account = await create_account(accounts, user.name, opening_balance=money(10))
        error = await rpc_error(
            accounts.DeleteAccount(A.DeleteAccountRequest(name=account.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
        assert violation.type == "ACCOUNT_BALANCE_NOT_ZERO"
        assert violation.subject == account.name
        await accounts.GetAccount(A.GetAccountRequest(name=account.name))

    async def test_unknown_account_is_not_found(self, accounts, user):
        await rpc_error(
            accounts.DeleteAccount(A.DeleteAccountRequest(name=f"{user.name}/accounts/missing")),
            grpc.StatusCode.NOT_FOUND,
        )
