"""Amounts at the edge of what the books can hold: an account's postings add up, in absolute
value, to at most the largest 64-bit integer, so no balance of it can overflow on any day."""

from collections.abc import Awaitable

import grpc
from finance.v1 import account_service_pb2 as apb
from finance.v1 import transaction_service_pb2 as tpb
from google.rpc import error_details_pb2
from google.type import date_pb2, money_pb2

from tests.builders import Books, day, money
from tests.helpers import rpc_error, unpack

# The largest 64-bit integer of cents, as google.type.Money.
MOST_USD = money(92_233_720_368_547_758, "USD", nanos=70_000_000)


def _income(
    books: Books, account: apb.Account, amount: money_pb2.Money, on: date_pb2.Date
) -> Awaitable[tpb.Transaction]:
    return books.transactions.RecordIncome(
        tpb.RecordIncomeRequest(
            parent=books.user.name, account=account.name, amount=amount, booking_date=on
        )
    )


def _refused_for_volume(error: grpc.aio.AioRpcError, account: apb.Account) -> None:
    violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
    assert (violation.type, violation.subject) == ("ACCOUNT_VOLUME_EXCEEDED", account.name)


async def test_an_account_holds_exactly_the_largest_amount_and_not_a_cent_more(books):
    full = await books.account("Full", "USD", opening_balance=MOST_USD)
    assert (await books.get(full)).balance == MOST_USD
    error = await rpc_error(
        _income(books, full, money(0, "USD", nanos=10_000_000), day(2)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    _refused_for_volume(error, full)
    assert (await books.get(full)).balance == MOST_USD


async def test_a_backdated_amount_that_could_overflow_a_past_balance_is_refused(books):
    savings = await books.account("Savings", "USD")
    loan = await books.account("Loan", "USD")
    half = money(50_000_000_000_000_000, "USD")  # 5e18 cents: two of them pass 2**63 - 1
    await _income(books, savings, half, day(2))
    backdated = books.transactions.TransferFunds(
        tpb.TransferFundsRequest(
            parent=books.user.name,
            from_account=loan.name,
            to_account=savings.name,
            amount=half,
            booking_date=day(1),
        )
    )
    _refused_for_volume(await rpc_error(backdated, grpc.StatusCode.FAILED_PRECONDITION), savings)
    assert await books.balance(loan) == 0
    for as_of in (day(1), day(2), day(3)):
        balance = await books.accounts.GetAccountBalance(
            apb.GetAccountBalanceRequest(name=savings.name, as_of_date=as_of)
        )
        assert balance.balance.units == (0 if as_of == day(1) else 50_000_000_000_000_000)
    history = await books.accounts.GetBalanceHistory(
        apb.GetBalanceHistoryRequest(name=savings.name, start_date=day(1), end_date=day(3))
    )
    assert [b.balance.units for b in history.balances] == [0] + [50_000_000_000_000_000] * 2
