"""AccountService over a real channel and a real database."""

import grpc
import pytest
from finance.v1 import account_service_pb2
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from google.type import date_pb2, money_pb2

from tests.builders import create_account, money
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


class TestOpeningDate:
    async def test_the_opening_balance_is_booked_on_the_opening_date(self, accounts, user):
        account = await create_account(
            accounts,
            user.name,
            opening_balance=money(70),
            opening_date=date_pb2.Date(year=2023, month=12, day=31),
        )
        assert account.opening_date == date_pb2.Date(year=2023, month=12, day=31)

        async def balance_on(day: int, month: int, year: int) -> int:
            got = await accounts.GetAccountBalance(
                A.GetAccountBalanceRequest(
                    name=account.name,
                    as_of_date=date_pb2.Date(year=year, month=month, day=day),
                )
            )
            return int(got.balance.units)

        assert (await balance_on(30, 12, 2023), await balance_on(31, 12, 2023)) == (0, 70)

    async def test_an_invalid_opening_date_is_refused(self, accounts, user):
        violations = await invalid_fields(
            create_account(
                accounts,
                user.name,
                opening_balance=money(1),
                opening_date=date_pb2.Date(year=2023, month=2, day=30),
            )
        )
        assert set(violations) == {"account.opening_date"}


class TestGetAccount:
    async def test_returns_the_account(self, accounts, user):
        account = await create_account(accounts, user.name)
        assert await accounts.GetAccount(A.GetAccountRequest(name=account.name)) == account

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
