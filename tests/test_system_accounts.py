"""The accounts the service keeps for each user (Expenses, Income, Opening balances, Currency
trading): read-only to callers, posted to by the service."""

import grpc
from finance.v1 import account_service_pb2 as apb
from finance.v1 import transaction_service_pb2 as tpb
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2

from tests.builders import Books, day, leg, money
from tests.helpers import rpc_error, unpack


async def _expense(books: Books, account: apb.Account, units: int = 1) -> tpb.Transaction:
    return await books.transactions.RecordExpense(
        tpb.RecordExpenseRequest(
            parent=books.user.name, account=account.name, amount=money(units), booking_date=day(3)
        )
    )


async def _system_account(books: Books, transaction: tpb.Transaction, index: int) -> apb.Account:
    return await books.accounts.GetAccount(
        apb.GetAccountRequest(name=transaction.postings[index].account)
    )


def _refused_as_system(error: grpc.aio.AioRpcError, account: apb.Account) -> None:
    violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
    assert (violation.type, violation.subject) == ("SYSTEM_ACCOUNT", account.name)


class TestReadOnly:
    async def test_cannot_be_renamed_archived_or_deleted(self, books):
        checking = await books.account(opening_balance=money(50))
        expenses = await _system_account(books, await _expense(books, checking), 1)
        calls = [
            books.accounts.UpdateAccount(
                apb.UpdateAccountRequest(
                    account=apb.Account(name=expenses.name, display_name="Mine"),
                    update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
                )
            ),
            books.accounts.ArchiveAccount(apb.ArchiveAccountRequest(name=expenses.name)),
            books.accounts.UnarchiveAccount(apb.UnarchiveAccountRequest(name=expenses.name)),
            books.accounts.DeleteAccount(apb.DeleteAccountRequest(name=expenses.name)),
        ]
        for call in calls:
            _refused_as_system(await rpc_error(call, grpc.StatusCode.FAILED_PRECONDITION), expenses)
        assert await books.get(expenses) == expenses
        await _expense(books, checking)
        assert await books.balance(checking) == 48


class TestPostingDirectly:
    async def test_the_opening_balances_account_takes_no_postings_of_a_caller(self, books):
        await books.account(opening_balance=money(50))
        savings = await books.account("Savings")
        listed = await books.accounts.ListAccounts(
            apb.ListAccountsRequest(parent=books.user.name, filter="system_managed = true")
        )
        [opening] = listed.accounts
        error = await rpc_error(
            books.create(leg(opening, -5), leg(savings, 5)), grpc.StatusCode.FAILED_PRECONDITION
        )
        _refused_as_system(error, opening)
        assert await books.get(opening) == opening
        assert await books.balance(savings) == 0

    async def test_a_split_expense_may_name_the_expenses_account(self, books):
        checking = await books.account(opening_balance=money(50))
        expenses = await _system_account(books, await _expense(books, checking), 1)
        split = await books.create(leg(checking, -5), leg(expenses, 3), leg(expenses, 2))
        assert len(split.postings) == 3
        assert await books.balance(expenses) == 6

    async def test_reversing_a_cross_currency_transfer_posts_to_the_trading_accounts(self, books):
        euros = await books.account(opening_balance=money(100))
        dollars = await books.account("Dollars", "USD")
        transfer = await books.transactions.TransferFunds(
            tpb.TransferFundsRequest(
                parent=books.user.name,
                from_account=euros.name,
                to_account=dollars.name,
                amount=money(10),
                to_amount=money(11, "USD"),
                booking_date=day(4),
            )
        )
        reversal = await books.transactions.ReverseTransaction(
            tpb.ReverseTransactionRequest(name=transfer.name)
        )
        assert reversal.reverses == transfer.name
        assert (await books.balance(euros), await books.balance(dollars)) == (100, 0)


class TestListing:
    async def test_system_managed_filters_the_accounts_the_service_keeps(self, books):
        checking = await books.account(opening_balance=money(50))
        await _expense(books, checking)

        async def names(filter_text: str) -> set[str]:
            listed = await books.accounts.ListAccounts(
                apb.ListAccountsRequest(parent=books.user.name, filter=filter_text)
            )
            return {a.display_name for a in listed.accounts}

        assert await names("system_managed = false") == {"Checking"}
        assert await names("system_managed = true") == {"Opening balances (EUR)", "Expenses (EUR)"}
        assert await names("system_managed != true") == {"Checking"}
        assert await names("") == {"Checking", "Opening balances (EUR)", "Expenses (EUR)"}
