"""TransactionService over a real channel: the rules of the ledger, seen by a caller."""

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from finance.v1 import account_service_pb2 as apb
from finance.v1 import audit_service_pb2, user_service_pb2
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import payee_service_pb2 as ppb
from finance.v1 import transaction_service_pb2 as tpb
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from google.type import date_pb2

from tests.builders import (
    INCOME,
    Books,
    account_request,
    create_category,
    create_payee,
    create_user,
    day,
    leg,
    money,
    own_id,
)
from tests.helpers import invalid_fields, rpc_error, unpack

T = tpb.Transaction
DAILY = apb.GetBalanceHistoryRequest.INTERVAL_DAY
MONTHLY = apb.GetBalanceHistoryRequest.INTERVAL_MONTH


def cents(account: apb.Account, amount: int) -> tpb.Posting:
    """A posting of `amount` hundredths of `account`'s currency (one with cents)."""
    units = int(amount / 100)
    nanos = (amount - units * 100) * 10_000_000
    return tpb.Posting(
        account=account.name, amount=money(units, account.currency_code, nanos=nanos)
    )


async def past_the_limit(call: Awaitable[Any], account: apb.Account) -> None:
    """`call` fails because it would take `account` past its credit limit."""
    error = await rpc_error(call, grpc.StatusCode.FAILED_PRECONDITION)
    violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
    assert (violation.type, violation.subject) == ("CREDIT_LIMIT_EXCEEDED", account.name)


# The request messages of the two calls that settle a pending transaction.
SETTLE = {
    "PostTransaction": tpb.PostTransactionRequest,
    "VoidTransaction": tpb.VoidTransactionRequest,
}
SETTLED = {"PostTransaction": T.STATE_POSTED, "VoidTransaction": T.STATE_VOIDED}
REUSED = "was already used by a different request; use a new one"


def settle(transactions: Any, method: str, name: str, **fields: Any) -> Awaitable[T]:
    """Post or void (`method`) the pending transaction `name`."""
    call: Awaitable[T] = getattr(transactions, method)(SETTLE[method](name=name, **fields))
    return call


async def written(books: Books, audit: Any, *accounts: apb.Account) -> list[Any]:
    """What a write could change: `accounts` (balances and etags), the user's transactions and
    the length of its audit trail."""
    user = books.user.name
    listed = await books.transactions.ListTransactions(
        tpb.ListTransactionsRequest(parent=user, page_size=1000)
    )
    events = await audit.ListAuditEvents(
        audit_service_pb2.ListAuditEventsRequest(parent=user, page_size=1000)
    )
    return [
        [await books.get(account) for account in accounts],
        list(listed.transactions),
        len(events.audit_events),
    ]


class TestCreateTransaction:
    async def test_moves_both_balances_and_returns_the_transaction(self, books):
        checking = await books.account(opening_balance=money(100))
        savings = await books.account("Savings")
        created = await books.create(
            leg(checking, -30, memo="to savings"),
            leg(savings, 30),
            description="Saving up",
            tags=["goals"],
            external_id="BANK-1",
        )
        assert created.name.startswith(f"{books.user.name}/transactions/")
        assert created.state == T.STATE_POSTED
        assert [p.amount.units for p in created.postings] == [-30, 30]
        assert created.postings[0].memo == "to savings"
        assert (created.description, list(created.tags), created.external_id) == (
            "Saving up",
            ["goals"],
            "BANK-1",
        )
        assert await books.balance(checking) == 70
        assert await books.balance(savings) == 30

    async def test_rejects_postings_that_do_not_balance(self, books):
        checking, savings = await books.account(), await books.account("Savings")
        violations = await invalid_fields(books.create(leg(checking, -30), leg(savings, 29)))
        assert "EUR postings sum to -1.00 EUR" in violations["transaction.postings"]
        assert await books.balance(checking) == 0

    async def test_rejects_a_single_posting_and_zero_amounts(self, books):
        checking, savings = await books.account(), await books.account("Savings")
        violations = await invalid_fields(books.create(leg(checking, 0)))
        assert {"transaction.postings", "transaction.postings[0].amount"} <= set(violations)
        violations = await invalid_fields(books.create(leg(checking, 0), leg(savings, 0)))
        assert "transaction.postings[1].amount" in violations

    async def test_rejects_money_moved_from_an_account_to_itself(self, books):
        checking, savings = await books.account(), await books.account("Savings")
        violations = await invalid_fields(books.create(leg(checking, -5), leg(checking, 5)))
        assert set(violations) == {"transaction.postings[1].account"}
        split = await books.create(leg(checking, -3), leg(checking, -2), leg(savings, 5))
        assert len(split.postings) == 3
        assert await books.balance(checking) == -5

    async def test_rejects_an_amount_in_another_currency_than_its_account(self, books):
        checking = await books.account()
        dollars = await books.account("Dollars", "USD")
        violations = await invalid_fields(
            books.create(
                tpb.Posting(account=checking.name, amount=money(-5, "USD")),
                tpb.Posting(account=dollars.name, amount=money(5, "USD")),
            )
        )
        assert "transaction.postings[0].amount.currency_code" in violations

    async def test_another_users_account_is_not_found(self, books, users):
        checking = await books.account()
        other = await create_user(users, "Eve")
        theirs = f"{other.name}/accounts/{own_id(checking.name)}"
        error = await rpc_error(
            books.create(
                leg(checking, -1),
                tpb.Posting(account=theirs, amount=money(1)),
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        assert unpack(error, error_details_pb2.ResourceInfo).resource_name == theirs

    async def test_unknown_account_category_and_payee_are_not_found(self, books, transactions):
        checking, savings = await books.account(), await books.account("Savings")
        user = books.user.name
        for fields in (
            {
                "postings": [
                    leg(checking, -1),
                    tpb.Posting(account=f"{user}/accounts/gone", amount=money(1)),
                ]
            },
            {"postings": [leg(checking, -1), leg(savings, 1, category=f"{user}/categories/gone")]},
            {"postings": [leg(checking, -1), leg(savings, 1)], "payee": f"{user}/payees/gone"},
        ):
            request = tpb.CreateTransactionRequest(
                parent=user, transaction=T(booking_date=day(1), **fields)
            )
            await rpc_error(transactions.CreateTransaction(request), grpc.StatusCode.NOT_FOUND)
        assert await books.balance(checking) == 0

    async def test_archived_account_takes_no_transactions(self, books, accounts):
        checking, savings = await books.account(), await books.account("Savings")
        await accounts.ArchiveAccount(apb.ArchiveAccountRequest(name=savings.name))
        error = await rpc_error(
            books.create(leg(checking, -1), leg(savings, 1)), grpc.StatusCode.FAILED_PRECONDITION
        )
        violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
        assert (violation.type, violation.subject) == ("ACCOUNT_ARCHIVED", savings.name)

    async def test_credit_limit_refuses_the_transaction_and_writes_nothing(self, books):
        checking = await books.account(opening_balance=money(50), credit_limit=money(0))
        card = await books.account("Card", type=apb.Account.TYPE_LIABILITY, credit_limit=money(100))
        await books.create(leg(checking, -50), leg(card, 50))
        error = await rpc_error(
            books.create(leg(checking, -1), leg(card, 1)), grpc.StatusCode.FAILED_PRECONDITION
        )
        violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
        assert violation.type == "CREDIT_LIMIT_EXCEEDED"
        assert violation.subject == checking.name
        assert (await books.balance(checking), await books.balance(card)) == (0, 50)
        # A liability may go down to minus its limit, and no further.
        spare = await books.account("Spare", opening_balance=money(1000))
        await books.create(leg(card, -150), leg(spare, 150))
        await rpc_error(
            books.create(leg(card, -1), leg(spare, 1)), grpc.StatusCode.FAILED_PRECONDITION
        )
        assert await books.balance(card) == -100

    async def test_a_spend_may_reach_the_credit_limit_but_not_one_minor_unit_past_it(self, books):
        checking = await books.account(credit_limit=money(100))
        savings = await books.account("Savings")
        await past_the_limit(books.create(cents(checking, -10001), cents(savings, 10001)), checking)
        await books.create(cents(checking, -10000), cents(savings, 10000))
        await past_the_limit(books.create(cents(checking, -1), cents(savings, 1)), checking)
        assert (await books.get(checking)).balance == money(-100)

    async def test_a_pending_spend_counts_against_the_credit_limit(self, books):
        checking = await books.account(credit_limit=money(100))
        savings = await books.account("Savings")

        def spend(amount: int, state: Any = T.STATE_POSTED) -> Any:
            return books.create(cents(checking, -amount), cents(savings, amount), state=state)

        await past_the_limit(spend(10001, T.STATE_PENDING), checking)
        await spend(6000, T.STATE_PENDING)
        # 60.00 is held: 40.00 is left to spend, posted or pending, and not a cent more.
        await past_the_limit(spend(4001), checking)
        await past_the_limit(spend(4001, T.STATE_PENDING), checking)
        await spend(4000)
        account = await books.get(checking)
        assert (account.balance, account.available_balance) == (money(-40), money(-100))

    async def test_same_request_id_records_once(self, books):
        checking, savings = await books.account(), await books.account("Savings")
        request_id = str(uuid.uuid4())
        first = await books.create(leg(checking, -5), leg(savings, 5), request_id=request_id)
        again = await books.create(leg(checking, -5), leg(savings, 5), request_id=request_id)
        assert again == first
        assert await books.balance(savings) == 5
        violations = await invalid_fields(
            books.create(leg(checking, -6), leg(savings, 6), request_id=request_id)
        )
        assert "request_id" in violations
        assert await books.balance(savings) == 5


class TestEverydayRecording:
    async def test_expense_moves_money_to_the_users_expense_account(
        self, books, transactions, categories, payees, accounts
    ):
        checking = await books.account(opening_balance=money(100))
        food = await create_category(categories, books.user.name)
        shop = await create_payee(payees, books.user.name, "Shop")
        expense = await transactions.RecordExpense(
            tpb.RecordExpenseRequest(
                parent=books.user.name,
                account=checking.name,
                amount=money(12, nanos=500_000_000),
                category=food.name,
                payee=shop.name,
                booking_date=day(3),
                description="Groceries",
            )
        )
        assert expense.payee == shop.name
        assert [(p.amount.units, p.amount.nanos) for p in expense.postings] == [
            (-12, -500_000_000),
            (12, 500_000_000),
        ]
        assert all(p.category == food.name for p in expense.postings)
        counterpart = await accounts.GetAccount(
            apb.GetAccountRequest(name=expense.postings[1].account)
        )
        assert counterpart.type == apb.Account.TYPE_EXPENSE
        assert counterpart.system_managed
        assert counterpart.balance == money(12, nanos=500_000_000)
        assert (await books.get(checking)).balance == money(87, nanos=500_000_000)

    async def test_income_arrives_from_the_users_income_account(self, books, transactions):
        checking = await books.account()
        for _ in range(2):
            income = await transactions.RecordIncome(
                tpb.RecordIncomeRequest(
                    parent=books.user.name,
                    account=checking.name,
                    amount=money(1000),
                    booking_date=day(25),
                )
            )
        assert await books.balance(checking) == 2000
        assert income.postings[1].amount.units == -1000

    async def test_expense_amount_must_be_positive(self, books, transactions):
        checking = await books.account()
        violations = await invalid_fields(
            transactions.RecordExpense(
                tpb.RecordExpenseRequest(
                    parent=books.user.name,
                    account=checking.name,
                    amount=money(-3),
                    booking_date=day(3),
                )
            )
        )
        assert "amount" in violations

    async def test_an_expense_needs_an_expense_category_and_income_an_income_one(
        self, books, transactions, categories
    ):
        checking = await books.account(opening_balance=money(100))
        food = await create_category(categories, books.user.name)
        salary = await create_category(categories, books.user.name, "Salary", kind=INCOME)
        expense = tpb.RecordExpenseRequest(
            parent=books.user.name,
            account=checking.name,
            amount=money(1),
            booking_date=day(3),
            category=salary.name,
        )
        income = tpb.RecordIncomeRequest(
            parent=books.user.name,
            account=checking.name,
            amount=money(1),
            booking_date=day(3),
            category=food.name,
        )
        assert await invalid_fields(transactions.RecordExpense(expense)) == {
            "category": f"{salary.name} is for income; this needs a category for expense"
        }
        assert await invalid_fields(transactions.RecordIncome(income)) == {
            "category": f"{food.name} is for expense; this needs a category for income"
        }
        assert await books.balance(checking) == 100


class TestTransferFunds:
    async def test_same_currency_transfer(self, books, transactions):
        checking = await books.account(opening_balance=money(10))
        savings = await books.account("Savings")
        transfer = await transactions.TransferFunds(
            tpb.TransferFundsRequest(
                parent=books.user.name,
                from_account=checking.name,
                to_account=savings.name,
                amount=money(10),
                booking_date=day(5),
            )
        )
        assert len(transfer.postings) == 2
        assert (await books.balance(checking), await books.balance(savings)) == (0, 10)

    async def test_cross_currency_transfer_balances_per_currency_and_keeps_the_rate(
        self, books, transactions, accounts
    ):
        euros = await books.account(opening_balance=money(200))
        dollars = await books.account("Dollars", "USD")
        transfer = await transactions.TransferFunds(
            tpb.TransferFundsRequest(
                parent=books.user.name,
                from_account=euros.name,
                to_account=dollars.name,
                amount=money(100),
                to_amount=money(108, "USD", nanos=420_000_000),
                booking_date=day(5),
            )
        )
        assert transfer.exchange_rate == "1.0842"
        totals: dict[str, int] = {}
        for p in transfer.postings:
            totals[p.amount.currency_code] = totals.get(p.amount.currency_code, 0) + (
                p.amount.units * 100 + p.amount.nanos // 10_000_000
            )
        assert totals == {"EUR": 0, "USD": 0}
        assert (await books.get(dollars)).balance == money(108, "USD", nanos=420_000_000)
        assert await books.balance(euros) == 100

    async def test_cross_currency_transfer_needs_the_received_amount(self, books, transactions):
        euros, dollars = await books.account(), await books.account("Dollars", "USD")
        violations = await invalid_fields(
            transactions.TransferFunds(
                tpb.TransferFundsRequest(
                    parent=books.user.name,
                    from_account=euros.name,
                    to_account=dollars.name,
                    amount=money(1),
                    booking_date=day(5),
                )
            )
        )
        assert violations == {"to_amount": "is required when the currencies differ"}

    async def test_a_received_amount_in_another_currency_than_the_account_is_refused(
        self, books, transactions
    ):
        euros, dollars = await books.account(), await books.account("Dollars", "USD")
        violations = await invalid_fields(
            transactions.TransferFunds(
                tpb.TransferFundsRequest(
                    parent=books.user.name,
                    from_account=euros.name,
                    to_account=dollars.name,
                    amount=money(1),
                    to_amount=money(1, "GBP"),
                    booking_date=day(5),
                )
            )
        )
        assert violations == {"to_amount.currency_code": "must be the account's currency USD"}


class TestTwoPhase:
    async def test_pending_counts_in_available_then_posts(self, books, transactions):
        checking = await books.account(opening_balance=money(100))
        savings = await books.account("Savings")
        pending = await books.create(leg(checking, -40), leg(savings, 40), state=T.STATE_PENDING)
        assert pending.state == T.STATE_PENDING
        account = await books.get(checking)
        assert (account.balance.units, account.available_balance.units) == (100, 60)
        posted = await transactions.PostTransaction(
            tpb.PostTransactionRequest(name=pending.name, etag=pending.etag)
        )
        assert posted.state == T.STATE_POSTED
        account = await books.get(checking)
        assert (account.balance.units, account.available_balance.units) == (60, 60)
        await rpc_error(
            transactions.PostTransaction(tpb.PostTransactionRequest(name=pending.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )

    @pytest.mark.parametrize("method", SETTLE)
    async def test_a_stale_etag_is_aborted_and_changes_nothing(
        self, books, transactions, audit, method
    ):
        checking, savings = await books.account(), await books.account("Savings")
        pending = await books.create(leg(checking, -40), leg(savings, 40), state=T.STATE_PENDING)
        updated = await transactions.UpdateTransaction(
            tpb.UpdateTransactionRequest(
                transaction=T(name=pending.name, notes="on hold"),
                update_mask=field_mask_pb2.FieldMask(paths=["notes"]),
            )
        )
        before = await written(books, audit, checking, savings)
        stale = settle(transactions, method, pending.name, etag=pending.etag)
        await rpc_error(stale, grpc.StatusCode.ABORTED)
        assert await written(books, audit, checking, savings) == before
        settled = await settle(transactions, method, pending.name, etag=updated.etag)
        assert settled.state == SETTLED[method]

    async def test_concurrent_posts_and_voids_let_exactly_one_win(self, books, transactions, audit):
        checking, savings = await books.account(), await books.account("Savings")
        pending = await books.create(leg(checking, -40), leg(savings, 40), state=T.STATE_PENDING)

        async def call(method: str) -> tuple[str, grpc.StatusCode]:
            try:
                await settle(transactions, method, pending.name)
            except grpc.aio.AioRpcError as error:
                return method, error.code()
            return method, grpc.StatusCode.OK

        results = await asyncio.gather(*(call(m) for m in list(SETTLE) * 6))
        winners = [method for method, code in results if code == grpc.StatusCode.OK]
        codes = sorted(code.name for _, code in results)
        assert codes == ["FAILED_PRECONDITION"] * 11 + ["OK"], results
        posted = winners == ["PostTransaction"]
        got = await transactions.GetTransaction(tpb.GetTransactionRequest(name=pending.name))
        assert got.state == (T.STATE_POSTED if posted else T.STATE_VOIDED)
        moved = 40 if posted else 0
        for account, units in ((checking, -moved), (savings, moved)):
            current = await books.get(account)
            assert (current.balance, current.available_balance) == (money(units), money(units))
        events = await audit.ListAuditEvents(
            audit_service_pb2.ListAuditEventsRequest(
                parent=books.user.name, filter=f'resource = "{pending.name}"'
            )
        )
        assert [e.action for e in events.audit_events] == ["create", "post" if posted else "void"]

    @pytest.mark.parametrize("method", SETTLE)
    async def test_a_retry_returns_the_first_result_and_writes_nothing(
        self, books, transactions, audit, method
    ):
        checking, savings = await books.account(), await books.account("Savings")
        pending, other = [
            await books.create(leg(checking, -units), leg(savings, units), state=T.STATE_PENDING)
            for units in (40, 2)
        ]
        request_id = str(uuid.uuid4())
        first = await settle(transactions, method, pending.name, request_id=request_id)
        after_first = await written(books, audit, checking, savings)
        again = await settle(transactions, method, pending.name, request_id=request_id)
        assert again == first
        assert await written(books, audit, checking, savings) == after_first
        other_method = next(m for m in SETTLE if m != method)
        for reused in (
            settle(transactions, method, other.name, request_id=request_id),
            settle(transactions, other_method, pending.name, request_id=request_id),
        ):
            assert await invalid_fields(reused) == {"request_id": REUSED}
        assert await written(books, audit, checking, savings) == after_first

    async def test_void_releases_the_hold(self, books, transactions):
        checking = await books.account(opening_balance=money(100), credit_limit=money(0))
        savings = await books.account("Savings")
        pending = await books.create(leg(checking, -80), leg(savings, 80), state=T.STATE_PENDING)
        # The hold counts against the limit: only 20 is left to spend.
        await rpc_error(
            books.create(leg(checking, -21), leg(savings, 21)), grpc.StatusCode.FAILED_PRECONDITION
        )
        voided = await transactions.VoidTransaction(tpb.VoidTransactionRequest(name=pending.name))
        assert voided.state == T.STATE_VOIDED
        account = await books.get(checking)
        assert (account.balance.units, account.available_balance.units) == (100, 100)
        await books.create(leg(checking, -100), leg(savings, 100))


class TestReverseTransaction:
    async def test_reversal_undoes_and_links(self, books, transactions):
        checking = await books.account(opening_balance=money(100))
        savings = await books.account("Savings")
        original = await books.create(leg(checking, -30), leg(savings, 30))
        reversal = await transactions.ReverseTransaction(
            tpb.ReverseTransactionRequest(
                name=original.name, booking_date=day(20), reason="Wrong amount"
            )
        )
        assert reversal.reverses == original.name
        assert reversal.description == "Wrong amount"
        assert [p.amount.units for p in reversal.postings] == [30, -30]
        assert (await books.balance(checking), await books.balance(savings)) == (100, 0)
        again = await transactions.GetTransaction(tpb.GetTransactionRequest(name=original.name))
        assert again.reversed_by == reversal.name
        assert again.postings == original.postings
        for name in (original.name, reversal.name):
            await rpc_error(
                transactions.ReverseTransaction(
                    tpb.ReverseTransactionRequest(name=name, booking_date=day(20))
                ),
                grpc.StatusCode.FAILED_PRECONDITION,
            )

    async def test_a_retry_returns_the_first_reversal_and_writes_nothing(
        self, books, transactions, audit
    ):
        checking, savings = await books.account(), await books.account("Savings")
        original = await books.create(leg(checking, -30), leg(savings, 30))

        def reverse(reason: str) -> Any:
            return transactions.ReverseTransaction(
                tpb.ReverseTransactionRequest(
                    name=original.name, booking_date=day(20), reason=reason, request_id=request_id
                )
            )

        request_id = str(uuid.uuid4())
        first = await reverse("Wrong amount")
        after_first = await written(books, audit, checking, savings)
        assert await reverse("Wrong amount") == first
        assert await written(books, audit, checking, savings) == after_first
        assert await invalid_fields(reverse("Wrong payee")) == {"request_id": REUSED}
        assert await written(books, audit, checking, savings) == after_first

    async def test_pending_transaction_cannot_be_reversed(self, books, transactions):
        checking, savings = await books.account(), await books.account("Savings")
        pending = await books.create(leg(checking, -1), leg(savings, 1), state=T.STATE_PENDING)
        error = await rpc_error(
            transactions.ReverseTransaction(
                tpb.ReverseTransactionRequest(name=pending.name, booking_date=day(20))
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
        assert violation.type == "TRANSACTION_NOT_POSTED"

    async def test_account_with_history_cannot_be_deleted(self, books, accounts, transactions):
        checking, savings = await books.account(), await books.account("Savings")
        original = await books.create(leg(checking, -1), leg(savings, 1))
        await transactions.ReverseTransaction(
            tpb.ReverseTransactionRequest(name=original.name, booking_date=day(20))
        )
        error = await rpc_error(
            accounts.DeleteAccount(apb.DeleteAccountRequest(name=savings.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
        assert violation.type == "ACCOUNT_IN_USE"


class TestUpdateTransaction:
    async def test_changes_descriptive_fields_and_keeps_the_postings(self, books, transactions):
        checking, savings = await books.account(), await books.account("Savings")
        original = await books.create(leg(checking, -2), leg(savings, 2))
        update = T(name=original.name, description="Lunch", tags=["food"], etag=original.etag)
        updated = await transactions.UpdateTransaction(
            tpb.UpdateTransactionRequest(
                transaction=update,
                update_mask=field_mask_pb2.FieldMask(paths=["description", "tags"]),
            )
        )
        assert (updated.description, list(updated.tags)) == ("Lunch", ["food"])
        assert updated.postings == original.postings

    async def test_a_retry_returns_the_first_result_and_writes_nothing(
        self, books, transactions, audit
    ):
        checking, savings = await books.account(), await books.account("Savings")
        original = await books.create(leg(checking, -2), leg(savings, 2))
        request_id = str(uuid.uuid4())

        def update(description: str) -> Any:
            return transactions.UpdateTransaction(
                tpb.UpdateTransactionRequest(
                    transaction=T(name=original.name, description=description),
                    update_mask=field_mask_pb2.FieldMask(paths=["description"]),
                    request_id=request_id,
                )
            )

        first = await update("Lunch")
        after_first = await written(books, audit, checking, savings)
        assert await update("Lunch") == first
        assert await written(books, audit, checking, savings) == after_first
        assert await invalid_fields(update("Dinner")) == {"request_id": REUSED}
        assert await written(books, audit, checking, savings) == after_first

    async def test_amounts_cannot_be_updated(self, books, transactions):
        checking, savings = await books.account(), await books.account("Savings")
        original = await books.create(leg(checking, -2), leg(savings, 2))
        violations = await invalid_fields(
            transactions.UpdateTransaction(
                tpb.UpdateTransactionRequest(
                    transaction=T(
                        name=original.name, postings=[leg(checking, -3), leg(savings, 3)]
                    ),
                    update_mask=field_mask_pb2.FieldMask(paths=["postings"]),
                )
            )
        )
        assert "update_mask" in violations
        got = await transactions.GetTransaction(tpb.GetTransactionRequest(name=original.name))
        assert got.postings == original.postings

    async def test_sets_posting_categories(self, books, transactions, categories):
        checking, savings = await books.account(), await books.account("Savings")
        original = await books.create(leg(checking, -2), leg(savings, 2))
        food = await create_category(categories, books.user.name)
        updated = await transactions.UpdateTransaction(
            tpb.UpdateTransactionRequest(
                transaction=T(
                    name=original.name,
                    postings=[tpb.Posting(), tpb.Posting(category=food.name)],
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["postings.category"]),
            )
        )
        assert [p.category for p in updated.postings] == ["", food.name]

    async def test_wildcard_mask_replaces_what_the_request_sets(
        self, books, transactions, categories
    ):
        checking, savings = await books.account(), await books.account("Savings")
        food = await create_category(categories, books.user.name)
        original = await books.create(leg(checking, -2, category=food.name), leg(savings, 2))
        wildcard = field_mask_pb2.FieldMask(paths=["*"])
        updated = await transactions.UpdateTransaction(
            tpb.UpdateTransactionRequest(
                transaction=T(name=original.name, description="Lunch", notes="paid"),
                update_mask=wildcard,
            )
        )
        assert (updated.description, updated.notes) == ("Lunch", "paid")
        assert updated.postings == original.postings
        recategorized = await transactions.UpdateTransaction(
            tpb.UpdateTransactionRequest(
                transaction=T(
                    name=original.name,
                    description="Lunch",
                    postings=[tpb.Posting(memo="mine"), tpb.Posting()],
                ),
                update_mask=wildcard,
            )
        )
        assert [(p.category, p.memo) for p in recategorized.postings] == [("", "mine"), ("", "")]
        assert recategorized.notes == ""


class TestAuditTrail:
    async def test_records_who_changed_what(self, books, transactions, audit):
        checking, savings = await books.account(), await books.account("Savings")
        metadata = (("x-actor", "service:payroll"),)
        request_id = str(uuid.uuid4())
        created = await transactions.CreateTransaction(
            tpb.CreateTransactionRequest(
                parent=books.user.name,
                transaction=T(booking_date=day(2), postings=[leg(checking, -1), leg(savings, 1)]),
                request_id=request_id,
            ),
            metadata=metadata,
        )
        await transactions.UpdateTransaction(
            tpb.UpdateTransactionRequest(
                transaction=T(name=created.name, notes="checked"),
                update_mask=field_mask_pb2.FieldMask(paths=["notes"]),
            ),
            metadata=(("x-actor", "alice"),),
        )
        events = await audit.ListAuditEvents(
            audit_service_pb2.ListAuditEventsRequest(
                parent=books.user.name, filter=f'resource = "{created.name}"'
            )
        )
        assert [(e.action, e.actor, e.actor_note) for e in events.audit_events] == [
            ("create", "anonymous", "service:payroll"),
            ("update", "anonymous", "alice"),
        ]
        assert events.audit_events[0].request_id == request_id
        assert not events.audit_events[0].HasField("before")
        update = events.audit_events[1]
        assert update.before["notes"] == ""
        assert update.after["notes"] == "checked"
        assert [p["account"] for p in update.after["postings"]] == [checking.name, savings.name]
        assert "payee_id" not in update.after


class TestBalancesOverTime:
    async def test_as_of_and_history(self, books, accounts):
        checking, savings = await books.account(), await books.account("Savings")
        for d, units in ((5, 10), (5, 5), (20, 7)):
            await books.create(leg(checking, -units), leg(savings, units), booking_date=day(d))
        await books.create(
            leg(checking, -1000),
            leg(savings, 1000),
            booking_date=day(1, 2),
            state=T.STATE_PENDING,
        )
        balance = await accounts.GetAccountBalance(
            apb.GetAccountBalanceRequest(name=savings.name, as_of_date=day(10))
        )
        assert balance.balance == money(15)
        history = await accounts.GetBalanceHistory(
            apb.GetBalanceHistoryRequest(name=savings.name, start_date=day(4), end_date=day(6))
        )
        assert [(b.as_of_date.day, b.balance.units) for b in history.balances] == [
            (4, 0),
            (5, 15),
            (6, 15),
        ]
        monthly = await accounts.GetBalanceHistory(
            apb.GetBalanceHistoryRequest(
                name=savings.name,
                start_date=day(10, 12, 2023),
                end_date=day(15, 2),
                interval=apb.GetBalanceHistoryRequest.INTERVAL_MONTH,
            )
        )
        assert [
            (b.as_of_date.month, b.as_of_date.day, b.balance.units) for b in monthly.balances
        ] == [
            (12, 31, 0),
            (1, 31, 22),
            (2, 15, 22),
        ]

    async def test_a_balance_as_of_a_day_counts_that_days_postings(self, books, accounts):
        checking, savings = await books.account(), await books.account("Savings")
        await books.create(leg(checking, -7), leg(savings, 7), booking_date=day(10))
        await books.create(leg(checking, -5), leg(savings, 5), booking_date=day(11))

        async def as_of(d: int) -> Any:
            request = apb.GetAccountBalanceRequest(name=savings.name, as_of_date=day(d))
            return (await accounts.GetAccountBalance(request)).balance.units

        assert [await as_of(d) for d in (9, 10, 11)] == [0, 7, 12]

    async def test_a_history_counts_the_postings_of_each_points_day(self, books, accounts):
        checking, savings = await books.account(), await books.account("Savings")
        for d, month in ((10, 1), (31, 1), (29, 2)):
            await books.create(leg(checking, -1), leg(savings, 1), booking_date=day(d, month))

        async def history(start: date_pb2.Date, end: date_pb2.Date, interval: Any) -> Any:
            request = apb.GetBalanceHistoryRequest(
                name=savings.name, start_date=start, end_date=end, interval=interval
            )
            return [b.balance.units for b in (await accounts.GetBalanceHistory(request)).balances]

        daily, monthly = (
            apb.GetBalanceHistoryRequest.INTERVAL_DAY,
            apb.GetBalanceHistoryRequest.INTERVAL_MONTH,
        )
        # Each range ends on a day with a posting, which its last point counts.
        assert await history(day(9), day(10), daily) == [0, 1]
        assert await history(day(10), day(10), daily) == [1]
        assert await history(day(1), day(29, 2), monthly) == [2, 3]

    @pytest.mark.parametrize(
        ("start", "end", "interval", "expected"),
        [
            (day(1, 1, 1), day(2, 1, 1), DAILY, [((1, 1, 1), 5), ((1, 1, 2), 5)]),
            (
                day(15, 11, 1),
                day(10, 1, 2),
                MONTHLY,
                [((1, 11, 30), 5), ((1, 12, 31), 5), ((2, 1, 10), 5)],
            ),
            (
                day(30, 12, 9999),
                day(31, 12, 9999),
                DAILY,
                [((9999, 12, 30), 5), ((9999, 12, 31), 12)],
            ),
            (
                day(15, 11, 9999),
                day(31, 12, 9999),
                MONTHLY,
                [((9999, 11, 30), 5), ((9999, 12, 31), 12)],
            ),
        ],
        ids=["first days", "first months", "last days", "last months"],
    )
    async def test_history_reaches_the_first_and_last_calendar_days(
        self, books, accounts, start, end, interval, expected
    ):
        checking, savings = await books.account(), await books.account("Savings")
        await books.create(leg(checking, -5), leg(savings, 5), booking_date=day(1, 1, 1))
        await books.create(leg(checking, -7), leg(savings, 7), booking_date=day(31, 12, 9999))
        history = await accounts.GetBalanceHistory(
            apb.GetBalanceHistoryRequest(
                name=savings.name, start_date=start, end_date=end, interval=interval
            ),
            timeout=10,
        )
        points = [(b.as_of_date, b.balance.units) for b in history.balances]
        assert [((d.year, d.month, d.day), units) for d, units in points] == expected

    async def test_rejects_backwards_range(self, books, accounts):
        checking = await books.account()
        violations = await invalid_fields(
            accounts.GetBalanceHistory(
                apb.GetBalanceHistoryRequest(name=checking.name, start_date=day(5), end_date=day(4))
            )
        )
        assert "end_date" in violations

    @pytest.mark.parametrize(
        ("interval", "last_allowed", "first_refused"),
        [
            (apb.GetBalanceHistoryRequest.INTERVAL_DAY, (2034, 1, 7), (2034, 1, 8)),
            (apb.GetBalanceHistoryRequest.INTERVAL_MONTH, (2328, 12, 31), (2329, 1, 1)),
        ],
    )
    async def test_a_history_has_at_most_3660_points(
        self, books, accounts, interval, last_allowed, first_refused
    ):
        checking = await books.account()

        def request(end: tuple[int, int, int]) -> apb.GetBalanceHistoryRequest:
            return apb.GetBalanceHistoryRequest(
                name=checking.name,
                start_date=date_pb2.Date(year=2024, month=1, day=1),
                end_date=date_pb2.Date(year=end[0], month=end[1], day=end[2]),
                interval=interval,
            )

        history = await accounts.GetBalanceHistory(request(last_allowed))
        assert len(history.balances) == 3660
        violations = await invalid_fields(accounts.GetBalanceHistory(request(first_refused)))
        assert set(violations) == {"end_date"}
        assert violations["end_date"].startswith("a history has at most 3660 ")


@dataclass(frozen=True)
class Ledger:
    """A user's transactions for the listing tests, and what they refer to."""

    user: user_service_pb2.User
    made: dict[str, tpb.Transaction]  # lunch, crisps, rent, atm and hold
    checking: apb.Account
    cash: apb.Account
    food: cpb.Category
    shop: ppb.Payee


class TestListTransactions:
    @pytest.fixture
    async def ledger(self, books, transactions, categories, payees) -> Ledger:
        """Five transactions across dates, accounts, a category tree, a payee and tags."""
        checking = await books.account(opening_balance=money(1000))
        cash = await books.account("Cash")
        food = await create_category(categories, books.user.name)
        snacks = await create_category(categories, books.user.name, "Snacks", under=food.name)
        shop = await create_payee(payees, books.user.name, "Shop")

        async def expense(d: int, units: int, category: str = "", description: str = ""):
            return await transactions.RecordExpense(
                tpb.RecordExpenseRequest(
                    parent=books.user.name,
                    account=checking.name,
                    amount=money(units),
                    category=category,
                    payee=shop.name if category else "",
                    booking_date=day(d),
                    description=description,
                )
            )

        made: dict[str, tpb.Transaction] = {
            "lunch": await expense(3, 12, food.name, "Lunch at work"),
            "crisps": await expense(4, 2, snacks.name, "Crisps"),
            "rent": await expense(1, 700, description="Rent"),
            "atm": await books.create(
                leg(checking, -50),
                leg(cash, 50),
                booking_date=day(10),
                tags=["cash"],
            ),
            "hold": await books.create(
                leg(checking, -5),
                leg(cash, 5),
                booking_date=day(11),
                state=T.STATE_PENDING,
            ),
        }
        return Ledger(books.user, made, checking, cash, food, shop)

    async def test_default_order_is_newest_first(self, transactions, ledger):
        listed = await transactions.ListTransactions(
            tpb.ListTransactionsRequest(parent=ledger.user.name)
        )
        dates = [
            (t.booking_date.year, t.booking_date.month, t.booking_date.day)
            for t in listed.transactions
        ]
        assert dates == sorted(dates, reverse=True)
        assert len(set(dates)) > 1

    @pytest.mark.parametrize(
        ("filter_text", "expected"),
        [
            ('booking_date >= "2024-01-03" AND booking_date <= "2024-01-04"', {"lunch", "crisps"}),
            ("amount >= 12 AND amount < 700", {"lunch", "atm"}),
            ('description:"lunch"', {"lunch"}),
            ('tags:"cash"', {"atm"}),
            ("state = STATE_PENDING", {"hold"}),
        ],
    )
    async def test_filters_by_plain_fields(self, transactions, ledger, filter_text, expected):
        page = await transactions.ListTransactions(
            tpb.ListTransactionsRequest(parent=ledger.user.name, filter=filter_text, page_size=100)
        )
        by_name = {t.name: key for key, t in ledger.made.items()}
        found = {by_name.get(t.name, "opening") for t in page.transactions}
        assert found == expected

    async def test_filters_by_account_category_tree_and_payee(self, transactions, ledger):
        by_name = {t.name: key for key, t in ledger.made.items()}

        async def keys(filter_text: str) -> set[str]:
            page = await transactions.ListTransactions(
                tpb.ListTransactionsRequest(
                    parent=ledger.user.name, filter=filter_text, page_size=100
                )
            )
            return {by_name.get(t.name, "opening") for t in page.transactions}

        assert await keys(f'account = "{ledger.cash.name}"') == {"atm", "hold"}
        assert await keys(f'category = "{ledger.food.name}"') == {"lunch", "crisps"}
        assert await keys(f'payee = "{ledger.shop.name}"') == {"lunch", "crisps"}
        assert "atm" in await keys(f'payee != "{ledger.shop.name}"')

    async def test_orders_by_amount_and_pages_stably_while_new_ones_arrive(
        self, transactions, books, ledger
    ):
        first = await transactions.ListTransactions(
            tpb.ListTransactionsRequest(
                parent=ledger.user.name, order_by="amount desc", page_size=2
            )
        )
        # The opening balance (1000) comes first, then the rent (700).
        assert first.transactions[0].description == "Opening balance"
        assert first.transactions[1].name == ledger.made["rent"].name
        await books.create(leg(ledger.checking, -1), leg(ledger.cash, 1), booking_date=day(20))
        rest = await transactions.ListTransactions(
            tpb.ListTransactionsRequest(
                parent=ledger.user.name,
                order_by="amount desc",
                page_size=100,
                page_token=first.next_page_token,
            )
        )
        seen = [*first.transactions, *rest.transactions]
        amounts = [sum(p.amount.units for p in t.postings if p.amount.units > 0) for t in seen]
        assert amounts == sorted(amounts, reverse=True)
        assert len({t.name for t in seen}) == len(seen)
        assert {t.name for t in ledger.made.values()} <= {t.name for t in seen}

    @pytest.mark.parametrize(
        "filter_text",
        [
            'booking_date > "yesterday"',
            "amount > lots",
            'account = "users/x"',
            'category > "users/x/categories/y"',
            "tags > 3",
            "state = STATE_UNKNOWN",
        ],
    )
    async def test_rejects_bad_filters(self, transactions, user, filter_text):
        violations = await invalid_fields(
            transactions.ListTransactions(
                tpb.ListTransactionsRequest(parent=user.name, filter=filter_text)
            )
        )
        assert "filter" in violations

    @pytest.mark.parametrize("number", ["1e-16384", "1.5e-16383", "0E-16384", "1e131072"])
    async def test_rejects_an_amount_past_what_a_database_number_holds(
        self, transactions, user, number
    ):
        violations = await invalid_fields(
            transactions.ListTransactions(
                tpb.ListTransactionsRequest(parent=user.name, filter=f"amount > {number}")
            )
        )
        assert violations == {
            "filter": "invalid filter: 'amount' takes a number of at most 131072 digits before"
            " the point and 16383 after it"
        }

    @pytest.mark.parametrize("number", ["1e-16383", "-9.9e131071", "0E-16383"])
    async def test_takes_an_amount_at_the_ends_of_what_a_database_number_holds(
        self, transactions, user, number
    ):
        page = await transactions.ListTransactions(
            tpb.ListTransactionsRequest(parent=user.name, filter=f"amount > {number}")
        )
        assert list(page.transactions) == []


class TestAccountAuditTrail:
    async def test_records_account_changes_with_their_actor(self, accounts, audit, user):
        metadata = (("x-actor", "ops:alice"),)
        account = await accounts.CreateAccount(
            account_request(user.name, display_name="Card", type=apb.Account.TYPE_LIABILITY),
            metadata=metadata,
        )
        await accounts.UpdateAccount(
            apb.UpdateAccountRequest(
                account=apb.Account(name=account.name, credit_limit=money(500)),
                update_mask=field_mask_pb2.FieldMask(paths=["credit_limit"]),
            ),
            metadata=metadata,
        )
        await accounts.ArchiveAccount(apb.ArchiveAccountRequest(name=account.name))
        await accounts.DeleteAccount(apb.DeleteAccountRequest(name=account.name))
        events = await audit.ListAuditEvents(
            audit_service_pb2.ListAuditEventsRequest(
                parent=user.name, filter=f'resource = "{account.name}"'
            )
        )
        assert [(e.action, e.actor_note) for e in events.audit_events] == [
            ("create", "ops:alice"),
            ("update", "ops:alice"),
            ("archive", ""),
            ("delete", ""),
        ]
        update = events.audit_events[1]
        # The account as the API shows it: amounts as google.type.Money, no internal fields.
        assert "credit_limit" not in update.before
        limit = update.after["credit_limit"]
        assert (limit["currency_code"], limit["units"], limit["nanos"]) == ("EUR", "500", 0)
        assert update.after["name"] == account.name
        assert "revision" not in update.after
        assert not events.audit_events[3].HasField("after")


class TestExternalIds:
    async def test_an_external_id_is_recorded_once_per_account(self, books, transactions):
        checking, savings = await books.account(), await books.account("Savings")
        cash = await books.account("Cash")
        first = await books.create(leg(checking, -1), leg(savings, 1), external_id="BANK-7")
        error = await rpc_error(
            books.create(leg(checking, -2), leg(cash, 2), external_id="BANK-7"),
            grpc.StatusCode.ALREADY_EXISTS,
        )
        assert unpack(error, error_details_pb2.ResourceInfo).resource_name == first.name
        assert await books.balance(cash) == 0
        # Other accounts' statements may use the same id.
        third = await books.account("Third")
        other = await books.create(leg(cash, -3), leg(third, 3), external_id="BANK-7")
        assert other.external_id == "BANK-7"
        assert await books.balance(third) == 3


class TestListTransactionsByExternalId:
    async def test_pages_by_external_id_with_some_missing(self, books, transactions):
        checking, savings = await books.account(), await books.account("Savings")
        for external_id in ("", "B-2", "", "A-1"):
            await books.create(leg(checking, -1), leg(savings, 1), external_id=external_id)
        for order in ("external_id", "external_id desc"):
            seen: list[str] = []
            token = ""
            while True:
                page = await transactions.ListTransactions(
                    tpb.ListTransactionsRequest(
                        parent=books.user.name, order_by=order, page_size=1, page_token=token
                    )
                )
                seen += [t.name for t in page.transactions]
                token = page.next_page_token
                if not token:
                    break
            assert len(seen) == len(set(seen)) == 4, order
