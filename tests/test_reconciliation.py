"""Reconciliation: clearing statuses of postings, ReconcileAccount against a statement's
closing balance (the statement date's boundary, exact amounts), statements kept and
un-reconciled, reconciled postings held as they were, the audit trail, and concurrent edits."""

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc
import pytest
from finance.v1 import account_service_pb2 as apb
from finance.v1 import audit_service_pb2 as aupb
from finance.v1 import statement_service_pb2 as spb
from finance.v1 import statement_service_pb2_grpc as spb_grpc
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import user_service_pb2 as upb
from google.protobuf import field_mask_pb2, json_format
from google.rpc import error_details_pb2
from google.type import date_pb2

from tests.builders import Books, day, leg, money
from tests.helpers import invalid_fields, rpc_error, unpack

UNCLEARED = tpb.Posting.CLEARING_STATUS_UNCLEARED
CLEARED = tpb.Posting.CLEARING_STATUS_CLEARED
RECONCILED = tpb.Posting.CLEARING_STATUS_RECONCILED
UNSPECIFIED = tpb.Posting.CLEARING_STATUS_UNSPECIFIED
FAILED = grpc.StatusCode.FAILED_PRECONDITION


def cleared(account: apb.Account, units: int, **fields: Any) -> tpb.Posting:
    """A cleared posting of `units` to or from `account`."""
    return leg(account, units, clearing_status=CLEARED, **fields)


Status: TypeAlias = tpb.Posting.ClearingStatus.ValueType


def statuses(transaction: tpb.Transaction) -> list[Status]:
    return [p.clearing_status for p in transaction.postings]


@dataclass(frozen=True)
class Desk:
    """A user's books and the calls reconciliation takes."""

    books: Books
    statements: "spb_grpc.StatementServiceAsyncStub"

    async def account(self, opening: int = 0, **fields: Any) -> apb.Account:
        """A EUR account opened on the 1st of January 2024 with `opening` units."""
        return await self.books.account(
            opening_balance=money(opening), opening_date=day(1), **fields
        )

    async def get(self, transaction: tpb.Transaction) -> tpb.Transaction:
        return await self.books.transactions.GetTransaction(
            tpb.GetTransactionRequest(name=transaction.name)
        )

    def set_statuses(self, transaction: tpb.Transaction, *status: Status) -> Any:
        """An UpdateTransaction giving the postings `status`, one each, in order."""
        update = tpb.Transaction(
            name=transaction.name, postings=[tpb.Posting(clearing_status=s) for s in status]
        )
        return self.books.transactions.UpdateTransaction(
            tpb.UpdateTransactionRequest(
                transaction=update,
                update_mask=field_mask_pb2.FieldMask(paths=["postings.clearing_status"]),
            )
        )

    def reconcile(
        self, account: apb.Account, statement_date: date_pb2.Date, closing: Any, **fields: Any
    ) -> Any:
        """ReconcileAccount of `account` against a statement closing at `closing` (units or
        Money)."""
        balance = money(closing) if isinstance(closing, int) else closing
        return self.statements.ReconcileAccount(
            spb.ReconcileAccountRequest(
                account=account.name,
                statement_date=statement_date,
                closing_balance=balance,
                **fields,
            )
        )

    async def listed(self, account: apb.Account) -> list[spb.Statement]:
        page = await self.statements.ListStatements(spb.ListStatementsRequest(parent=account.name))
        return list(page.statements)

    def unreconcile(self, statement: spb.Statement, **fields: Any) -> Any:
        return self.statements.UnreconcileStatement(
            spb.UnreconcileStatementRequest(name=statement.name, **fields)
        )


@pytest.fixture
def desk(books, statements) -> Desk:
    return Desk(books, statements)


async def reconciled_desk(desk: Desk) -> tuple[apb.Account, apb.Account, tpb.Transaction]:
    """An account of 100 (opening, cleared) less a cleared 30, reconciled on January 31st at
    70; returns the account, its counterpart and the cleared transaction."""
    checking, shop = await desk.account(100), await desk.account(display_name="Shop")
    spent = await desk.books.create(cleared(checking, -30), leg(shop, 30), booking_date=day(10))
    response = await desk.reconcile(checking, day(31), 70)
    assert response.reconciled
    return checking, shop, spent


def precondition(error: grpc.aio.AioRpcError) -> str:
    """The type of the PreconditionFailure violation of `error`."""
    failure = unpack(error, error_details_pb2.PreconditionFailure)
    violation_type: str = failure.violations[0].type
    return violation_type


class TestClearingStatus:
    async def test_postings_are_uncleared_unless_created_cleared(self, desk):
        checking, cash = await desk.account(), await desk.account(display_name="Cash")
        created = await desk.books.create(cleared(checking, -5), leg(cash, 5))
        assert statuses(created) == [CLEARED, UNCLEARED]
        assert statuses(await desk.get(created)) == [CLEARED, UNCLEARED]

    async def test_an_opening_balance_is_recorded_cleared(self, desk):
        checking = await desk.account(100)
        listed = await desk.books.transactions.ListTransactions(
            tpb.ListTransactionsRequest(parent=desk.books.user.name)
        )
        [opening] = listed.transactions
        by_account = {p.account: p.clearing_status for p in opening.postings}
        assert by_account.pop(checking.name) == CLEARED
        assert list(by_account.values()) == [UNCLEARED]  # the equity side

    async def test_create_refuses_a_reconciled_posting(self, desk):
        checking, cash = await desk.account(), await desk.account(display_name="Cash")
        call = desk.books.create(leg(checking, -5), leg(cash, 5, clearing_status=RECONCILED))
        violations = await invalid_fields(call)
        assert list(violations) == ["transaction.postings[1].clearing_status"]

    async def test_an_update_sets_statuses_and_unspecified_leaves_one_as_it_is(self, desk):
        checking, cash = await desk.account(), await desk.account(display_name="Cash")
        created = await desk.books.create(cleared(checking, -5), leg(cash, 5))
        updated = await desk.set_statuses(created, UNSPECIFIED, CLEARED)
        assert statuses(updated) == [CLEARED, CLEARED]
        assert updated.etag != created.etag
        again = await desk.set_statuses(updated, UNCLEARED, UNSPECIFIED)
        assert statuses(again) == [UNCLEARED, CLEARED]

    async def test_an_update_lists_every_posting(self, desk):
        checking, cash = await desk.account(), await desk.account(display_name="Cash")
        created = await desk.books.create(leg(checking, -5), leg(cash, 5))
        violations = await invalid_fields(desk.set_statuses(created, CLEARED))
        assert list(violations) == ["transaction.postings"]

    async def test_an_update_cannot_reconcile(self, desk):
        checking, cash = await desk.account(), await desk.account(display_name="Cash")
        created = await desk.books.create(leg(checking, -5), leg(cash, 5))
        violations = await invalid_fields(desk.set_statuses(created, RECONCILED, UNSPECIFIED))
        assert list(violations) == ["transaction.postings[0].clearing_status"]
        assert statuses(await desk.get(created)) == [UNCLEARED, UNCLEARED]

    async def test_a_star_mask_without_postings_leaves_their_statuses(self, desk):
        checking, cash = await desk.account(), await desk.account(display_name="Cash")
        created = await desk.books.create(cleared(checking, -5), leg(cash, 5))
        updated = await desk.books.transactions.UpdateTransaction(
            tpb.UpdateTransactionRequest(
                transaction=tpb.Transaction(name=created.name, description="Lunch"),
                update_mask=field_mask_pb2.FieldMask(paths=["*"]),
            )
        )
        assert statuses(updated) == [CLEARED, UNCLEARED]


class TestReconcileAccount:
    async def test_shows_the_difference_and_writes_nothing_while_it_is_not_zero(self, desk):
        checking, shop = await desk.account(100), await desk.account(display_name="Shop")
        spent = await desk.books.create(cleared(checking, -30), leg(shop, 30), booking_date=day(10))
        await desk.books.create(leg(checking, -20), leg(shop, 20), booking_date=day(11))
        response = await desk.reconcile(checking, day(31), 50)
        assert not response.reconciled
        figures = response.statement
        assert (figures.name, figures.state, figures.etag) == ("", 0, "")
        assert figures.opening_balance == money(0)
        assert figures.cleared_balance == money(70)
        assert figures.closing_balance == money(50)
        assert figures.difference == money(-20)
        assert figures.posting_count == 2
        assert figures.statement_date == day(31)
        assert await desk.listed(checking) == []
        assert (await desk.get(spent)).etag == spent.etag

    async def test_reconciles_the_cleared_postings_when_the_difference_is_zero(self, desk):
        checking, shop = await desk.account(100), await desk.account(display_name="Shop")
        spent = await desk.books.create(cleared(checking, -30), leg(shop, 30), booking_date=day(10))
        unseen = await desk.books.create(leg(checking, -20), leg(shop, 20), booking_date=day(11))
        response = await desk.reconcile(checking, day(31), 70)
        assert response.reconciled
        statement = response.statement
        assert statement.name.startswith(f"{checking.name}/statements/")
        assert statement.state == spb.Statement.STATE_RECONCILED
        assert (statement.cleared_balance, statement.difference) == (money(70), money(0))
        assert statement.posting_count == 2
        after = await desk.get(spent)
        assert statuses(after) == [RECONCILED, UNCLEARED]
        assert [p.statement for p in after.postings] == [statement.name, ""]
        assert after.etag != spent.etag
        assert statuses(await desk.get(unseen)) == [UNCLEARED, UNCLEARED]
        get = desk.statements.GetStatement(spb.GetStatementRequest(name=statement.name))
        assert await get == statement
        assert await desk.listed(checking) == [statement]

    async def test_counts_a_posting_booked_on_the_statement_date(self, desk):
        checking, shop = await desk.account(100), await desk.account(display_name="Shop")
        spent = await desk.books.create(cleared(checking, -5), leg(shop, 5), booking_date=day(31))
        response = await desk.reconcile(checking, day(31), 95)
        assert response.reconciled
        assert statuses(await desk.get(spent))[0] == RECONCILED

    async def test_leaves_a_posting_booked_the_day_after_the_statement_date(self, desk):
        checking, shop = await desk.account(100), await desk.account(display_name="Shop")
        later = await desk.books.create(
            cleared(checking, -5), leg(shop, 5), booking_date=day(1, month=2)
        )
        counted = await desk.reconcile(checking, day(31), 95)
        assert not counted.reconciled
        assert counted.statement.difference == money(-5)
        response = await desk.reconcile(checking, day(31), 100)
        assert response.reconciled
        assert response.statement.posting_count == 1  # the opening balance only
        assert statuses(await desk.get(later))[0] == CLEARED

    async def test_counts_only_the_accounts_own_postings(self, desk):
        checking, savings = await desk.account(100), await desk.account(display_name="Savings")
        moved = await desk.books.create(cleared(checking, -5), cleared(savings, 5))
        assert (await desk.reconcile(checking, day(31), 95)).reconciled
        assert statuses(await desk.get(moved)) == [RECONCILED, CLEARED]
        assert (await desk.reconcile(savings, day(31), 5)).reconciled
        february = await desk.reconcile(checking, day(29, month=2), 95)
        assert february.statement.opening_balance == money(95)

    async def test_leaves_pending_transactions_out(self, desk):
        checking, shop = await desk.account(100), await desk.account(display_name="Shop")
        pending = await desk.books.create(
            cleared(checking, -5), leg(shop, 5), state=tpb.Transaction.STATE_PENDING
        )
        response = await desk.reconcile(checking, day(31), 100)
        assert response.reconciled
        assert statuses(await desk.get(pending))[0] == CLEARED

    async def test_validate_only_writes_nothing_even_when_the_figures_match(self, desk):
        checking = await desk.account(100)
        response = await desk.reconcile(checking, day(31), 100, validate_only=True)
        assert not response.reconciled
        assert response.statement.difference == money(0)
        assert await desk.listed(checking) == []

    async def test_a_statement_must_follow_the_accounts_last_one(self, desk):
        checking, _, _ = await reconciled_desk(desk)
        for same_or_before in (day(31), day(30)):
            error = await rpc_error(desk.reconcile(checking, same_or_before, 70), FAILED)
            assert precondition(error) == "STATEMENT_DATE_NOT_AFTER_LAST"
        next_day = await desk.reconcile(checking, day(1, month=2), 70)
        assert next_day.reconciled
        assert next_day.statement.opening_balance == money(70)
        assert next_day.statement.posting_count == 0

    async def test_the_next_statement_opens_with_the_last_closing_balance(self, desk):
        checking, shop, _ = await reconciled_desk(desk)
        await desk.books.create(cleared(checking, -7), leg(shop, 7), booking_date=day(3, month=2))
        response = await desk.reconcile(checking, day(29, month=2), 63)
        assert response.reconciled
        assert response.statement.opening_balance == money(70)
        assert response.statement.posting_count == 1

    async def test_compares_amounts_exactly_to_the_minor_unit(self, desk):
        checking = await desk.account(100)
        response = await desk.reconcile(checking, day(31), money(100, nanos=10_000_000))
        assert not response.reconciled
        assert response.statement.difference == money(0, nanos=10_000_000)

    async def test_refuses_a_closing_balance_in_another_currency(self, desk):
        checking = await desk.account(100)
        violations = await invalid_fields(desk.reconcile(checking, day(31), money(100, "USD")))
        assert violations == {"closing_balance.currency_code": "must be the account's currency EUR"}

    async def test_reports_every_invalid_field_at_once(self, desk):
        request = spb.ReconcileAccountRequest(account="accounts/x", request_id="x")
        violations = await invalid_fields(desk.statements.ReconcileAccount(request))
        assert set(violations) == {"account", "statement_date", "closing_balance", "request_id"}

    async def test_an_unknown_account_is_not_found(self, desk):
        missing = apb.Account(name=f"{desk.books.user.name}/accounts/missing")
        await rpc_error(desk.reconcile(missing, day(31), 0), grpc.StatusCode.NOT_FOUND)

    async def test_a_retry_returns_the_statement_first_kept(self, desk):
        checking = await desk.account(100)
        request_id = str(uuid.uuid4())
        first = await desk.reconcile(checking, day(31), 100, request_id=request_id)
        again = await desk.reconcile(checking, day(31), 100, request_id=request_id)
        assert again == first
        assert len(await desk.listed(checking)) == 1

    async def test_an_attempt_that_did_not_reconcile_leaves_its_request_id_free(self, desk):
        checking, shop = await desk.account(100), await desk.account(display_name="Shop")
        spent = await desk.books.create(leg(checking, -30), leg(shop, 30), booking_date=day(10))
        request_id = str(uuid.uuid4())
        short = await desk.reconcile(checking, day(31), 70, request_id=request_id)
        assert not short.reconciled
        await desk.set_statuses(spent, CLEARED, UNSPECIFIED)
        retried = await desk.reconcile(checking, day(31), 70, request_id=request_id)
        assert retried.reconciled


class TestReconciledPostings:
    async def test_keep_their_status_until_the_statement_is_unreconciled(self, desk):
        _, _, spent = await reconciled_desk(desk)
        for status in (CLEARED, UNCLEARED):
            error = await rpc_error(desk.set_statuses(spent, status, UNSPECIFIED), FAILED)
            assert precondition(error) == "POSTING_RECONCILED"
        # Sending back the status as read changes nothing of it.
        read = await desk.get(spent)
        assert statuses(await desk.set_statuses(read, *statuses(read))) == statuses(read)

    async def test_keep_their_descriptive_fields_open_to_change(self, desk):
        _, _, spent = await reconciled_desk(desk)
        updated = await desk.books.transactions.UpdateTransaction(
            tpb.UpdateTransactionRequest(
                transaction=tpb.Transaction(
                    name=spent.name,
                    description="Groceries",
                    postings=[tpb.Posting(memo="weekly"), tpb.Posting()],
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["description", "postings.memo"]),
            )
        )
        assert (updated.description, updated.postings[0].memo) == ("Groceries", "weekly")
        assert statuses(updated)[0] == RECONCILED

    async def test_a_reconciled_transaction_may_be_reversed(self, desk):
        checking, _, spent = await reconciled_desk(desk)
        reversal = await desk.books.transactions.ReverseTransaction(
            tpb.ReverseTransactionRequest(name=spent.name, booking_date=day(2, month=2))
        )
        assert statuses(reversal) == [UNCLEARED, UNCLEARED]
        assert statuses(await desk.get(spent))[0] == RECONCILED
        assert await desk.books.balance(checking) == 100


class TestUnreconcileStatement:
    async def test_releases_the_postings_and_keeps_the_statement(self, desk):
        checking, _, spent = await reconciled_desk(desk)
        [statement] = await desk.listed(checking)
        released = await desk.unreconcile(statement, etag=statement.etag)
        assert released.state == spb.Statement.STATE_UNRECONCILED
        assert released.etag != statement.etag
        after = await desk.get(spent)
        assert statuses(after) == [CLEARED, UNCLEARED]
        assert after.postings[0].statement == ""
        assert statuses(await desk.set_statuses(after, UNCLEARED, UNSPECIFIED))[0] == UNCLEARED
        # The same day may be reconciled again; the released statement stays on record.
        await desk.set_statuses(after, CLEARED, UNSPECIFIED)
        again = await desk.reconcile(checking, day(31), 70)
        assert again.reconciled
        listed = {s.name: s.state for s in await desk.listed(checking)}
        assert listed == {
            statement.name: spb.Statement.STATE_UNRECONCILED,
            again.statement.name: spb.Statement.STATE_RECONCILED,
        }

    async def test_only_the_accounts_last_statement_may_be_unreconciled(self, desk):
        checking, _, _ = await reconciled_desk(desk)
        [january] = await desk.listed(checking)
        february = (await desk.reconcile(checking, day(29, month=2), 70)).statement
        error = await rpc_error(desk.unreconcile(january), FAILED)
        assert precondition(error) == "STATEMENT_NOT_LATEST"
        await desk.unreconcile(february)
        assert (await desk.unreconcile(january)).state == spb.Statement.STATE_UNRECONCILED

    async def test_twice_is_a_failed_precondition(self, desk):
        checking, _, _ = await reconciled_desk(desk)
        [statement] = await desk.listed(checking)
        await desk.unreconcile(statement)
        error = await rpc_error(desk.unreconcile(statement), FAILED)
        assert precondition(error) == "STATEMENT_NOT_RECONCILED"

    async def test_a_stale_etag_is_aborted_and_changes_nothing(self, desk):
        checking, _, spent = await reconciled_desk(desk)
        [statement] = await desk.listed(checking)
        stale = '"1"'
        await rpc_error(desk.unreconcile(statement, etag=stale), grpc.StatusCode.ABORTED)
        assert statuses(await desk.get(spent))[0] == RECONCILED

    async def test_a_retry_returns_the_statement_as_it_is(self, desk):
        checking, _, _ = await reconciled_desk(desk)
        [statement] = await desk.listed(checking)
        request_id = str(uuid.uuid4())
        first = await desk.unreconcile(statement, request_id=request_id)
        assert await desk.unreconcile(statement, request_id=request_id) == first

    async def test_an_unknown_statement_is_not_found(self, desk):
        checking = await desk.account()
        missing = spb.Statement(name=f"{checking.name}/statements/missing")
        await rpc_error(desk.unreconcile(missing), grpc.StatusCode.NOT_FOUND)
        get = desk.statements.GetStatement(spb.GetStatementRequest(name=missing.name))
        await rpc_error(get, grpc.StatusCode.NOT_FOUND)

    async def test_a_statement_of_another_account_is_not_found_under_this_one(self, desk):
        checking, shop, _ = await reconciled_desk(desk)
        [statement] = await desk.listed(checking)
        elsewhere = statement.name.replace(checking.name, shop.name)
        get = desk.statements.GetStatement(spb.GetStatementRequest(name=elsewhere))
        await rpc_error(get, grpc.StatusCode.NOT_FOUND)


class TestStatementsAndTheirAccount:
    async def test_an_account_with_a_statement_is_not_deleted(self, desk):
        account = await desk.account()
        assert (await desk.reconcile(account, day(31), 0)).reconciled
        call = desk.books.accounts.DeleteAccount(apb.DeleteAccountRequest(name=account.name))
        await rpc_error(call, FAILED)

    async def test_erasing_a_user_takes_its_statements_along(self, desk, users):
        await reconciled_desk(desk)
        await users.DeleteUser(upb.DeleteUserRequest(name=desk.books.user.name, force=True))
        get = users.GetUser(upb.GetUserRequest(name=desk.books.user.name))
        await rpc_error(get, grpc.StatusCode.NOT_FOUND)


class TestListStatements:
    async def test_lists_newest_first_and_filters_by_state(self, desk):
        checking, _, _ = await reconciled_desk(desk)
        february = (await desk.reconcile(checking, day(29, month=2), 70)).statement
        [first, second] = await desk.listed(checking)
        assert first == february
        assert second.statement_date == day(31)
        await desk.unreconcile(february)
        page = await desk.statements.ListStatements(
            spb.ListStatementsRequest(parent=checking.name, filter="state = STATE_RECONCILED")
        )
        assert [s.name for s in page.statements] == [second.name]

    async def test_an_unknown_account_is_not_found(self, desk):
        parent = f"{desk.books.user.name}/accounts/missing"
        call = desk.statements.ListStatements(spb.ListStatementsRequest(parent=parent))
        await rpc_error(call, grpc.StatusCode.NOT_FOUND)


class TestAudit:
    async def test_reconciling_and_unreconciling_are_in_the_audit_trail(self, desk, audit):
        checking, _, spent = await reconciled_desk(desk)
        [statement] = await desk.listed(checking)
        await desk.unreconcile(statement)

        async def events(name: str) -> list[aupb.AuditEvent]:
            page = await audit.ListAuditEvents(
                aupb.ListAuditEventsRequest(
                    parent=desk.books.user.name, filter=f'resource = "{name}"'
                )
            )
            return list(page.audit_events)

        assert [e.action for e in await events(statement.name)] == ["reconcile", "unreconcile"]
        history = await events(spent.name)
        assert [e.action for e in history] == ["create", "reconcile", "unreconcile"]
        posting = json_format.MessageToDict(history[1].after)["postings"][0]
        assert posting["clearing_status"] == "CLEARING_STATUS_RECONCILED"
        assert posting["statement"] == statement.name


class TestConcurrency:
    async def test_a_reconciliation_and_an_edit_of_its_cleared_posting_never_both_win(
        self, desk, app
    ):
        deadlocks = app.uow.retries["DeadlockDetectedError"]
        for _ in range(8):
            checking, shop = await desk.account(), await desk.account(display_name="Shop")
            spent = await desk.books.create(cleared(checking, 10), leg(shop, -10))
            reconcile: Any
            edit: Any
            reconcile, edit = await asyncio.gather(
                desk.reconcile(checking, day(31), 10),
                desk.set_statuses(spent, UNCLEARED, UNSPECIFIED),
                return_exceptions=True,
            )
            assert not isinstance(reconcile, BaseException)
            status = statuses(await desk.get(spent))[0]
            if reconcile.reconciled:
                # The edit came second and found the posting reconciled.
                assert isinstance(edit, grpc.aio.AioRpcError), edit
                assert edit.code() == FAILED
                assert status == RECONCILED
            else:
                assert not isinstance(edit, BaseException)
                assert status == UNCLEARED
                assert reconcile.statement.difference == money(10)
        assert app.uow.retries["DeadlockDetectedError"] == deadlocks

    async def test_concurrent_reconciliations_of_one_account_keep_one_statement(self, desk):
        checking = await desk.account(100)
        results = await asyncio.gather(
            *(desk.reconcile(checking, day(31), 100) for _ in range(5)), return_exceptions=True
        )
        kept = [r for r in results if not isinstance(r, BaseException) and r.reconciled]
        refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(kept) == 1
        assert all(r.code() == FAILED for r in refused)
        assert len(refused) == 4
        assert len(await desk.listed(checking)) == 1

    async def test_reversing_while_reconciling_takes_locks_in_one_order(self, desk, app):
        deadlocks = app.uow.retries["DeadlockDetectedError"]
        for _ in range(6):
            checking, shop = await desk.account(), await desk.account(display_name="Shop")
            spent = await desk.books.create(cleared(checking, 10), leg(shop, -10))
            await asyncio.gather(
                desk.reconcile(checking, day(31), 10),
                desk.books.transactions.ReverseTransaction(
                    tpb.ReverseTransactionRequest(name=spent.name)
                ),
            )
        assert app.uow.retries["DeadlockDetectedError"] == deadlocks
