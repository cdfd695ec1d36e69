"""RecurringTransactionService over a real channel and a real database, and the scheduler that
records due occurrences, driven by a clock the tests set."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import grpc
import pytest
from finance.v1 import account_service_pb2 as apb
from finance.v1 import recurring_transaction_service_pb2 as recpb
from finance.v1 import recurring_transaction_service_pb2_grpc as recpb_grpc
from finance.v1 import transaction_service_pb2 as tpb
from google.protobuf import field_mask_pb2
from google.type import dayofweek_pb2

from service.server import App, build_app
from service.services.scheduler import OccurrenceRecorder, RecurringScheduler
from tests.builders import (
    INCOME,
    create_account,
    create_category,
    create_payee,
    create_recurring,
    day,
    money,
    monthly_expense,
)
from tests.conftest import make_settings
from tests.helpers import field_violations, invalid_fields, rpc_error

R = recpb
Template = recpb.TransactionTemplate
Schedule = recpb.Schedule
Occurrence = recpb.Occurrence


class Clock:
    """The books' day, as a test sets it."""

    def __init__(self, today: date) -> None:
        self.today = today

    def __call__(self) -> date:
        return self.today


@pytest.fixture
def clock() -> Clock:
    return Clock(date(2024, 1, 1))


@pytest.fixture
def scheduler(app: App, clock: Clock) -> RecurringScheduler:
    """A scheduler over the shared server's database, on the test's clock."""
    return RecurringScheduler(OccurrenceRecorder(app.uow), today=clock, interval=3600)


@pytest.fixture
async def on_clock(database, database_url, clock: Clock) -> AsyncIterator[Any]:
    """A RecurringTransactionService client of a server whose day is the test's clock."""
    built = build_app(make_settings(database_url), database, today=clock)
    await built.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{built.port}") as channel:
            yield recpb_grpc.RecurringTransactionServiceStub(channel)
    finally:
        await built.stop(grace=1)


@pytest.fixture
async def checking(accounts, user) -> apb.Account:
    return await create_account(accounts, user.name)


async def run_on(scheduler: RecurringScheduler, clock: Clock, today: date) -> None:
    clock.today = today
    await scheduler.run_once()


async def booked(transactions, user) -> list[tuple[date, int, str]]:
    """The user's transactions as (booking date, first posting's units, description), oldest
    first."""
    page = await transactions.ListTransactions(
        tpb.ListTransactionsRequest(parent=user.name, page_size=1000, order_by="booking_date")
    )
    return [
        (
            date(t.booking_date.year, t.booking_date.month, t.booking_date.day),
            t.postings[0].amount.units,
            t.description,
        )
        for t in page.transactions
    ]


async def occurrences(recurring, name: str, first=None, last=None) -> list[Any]:
    """The occurrences booked from `first` to `last` (all of 2024 by default)."""
    response = await recurring.ListUpcomingOccurrences(
        R.ListUpcomingOccurrencesRequest(
            name=name, start_date=first or day(1), end_date=last or day(31, 12)
        )
    )
    return list(response.occurrences)


def dates(found: list[Any]) -> list[tuple[date, int]]:
    return [
        (date(o.scheduled_date.year, o.scheduled_date.month, o.scheduled_date.day), o.state)
        for o in found
    ]


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=paths)


class TestCreateRecurringTransaction:
    async def test_creates_an_active_schedule_with_its_next_occurrence(
        self, recurring, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        assert created.name.startswith(f"{user.name}/recurringTransactions/")
        assert created.state == R.RecurringTransaction.STATE_ACTIVE
        assert created.template.account == checking.name
        assert created.template.amount == money(10)
        assert created.template.state == tpb.Transaction.STATE_POSTED
        assert created.schedule.interval == 1
        assert created.schedule.weekend_rule == Schedule.WEEKEND_RULE_KEEP
        assert created.next_scheduled_date == day(31)
        assert created.next_booking_date == day(31)
        assert created.etag
        assert (
            await recurring.GetRecurringTransaction(
                R.GetRecurringTransactionRequest(name=created.name)
            )
            == created
        )

    async def test_a_retry_with_the_same_request_id_returns_the_first(
        self, recurring, user, checking
    ):
        request_id = str(uuid.uuid4())
        message = monthly_expense(checking.name)
        first = await create_recurring(recurring, user.name, message, request_id=request_id)
        again = await create_recurring(recurring, user.name, message, request_id=request_id)
        assert again.name == first.name

    async def test_next_booking_date_follows_the_weekend_rule(self, recurring, user, checking):
        # 2024-06-01 is a Saturday.
        schedule = Schedule(
            frequency=Schedule.FREQUENCY_MONTHLY,
            start_date=day(1, 6),
            weekend_rule=Schedule.WEEKEND_RULE_MONDAY_AFTER,
        )
        created = await create_recurring(
            recurring, user.name, monthly_expense(checking.name, schedule=schedule)
        )
        assert created.next_scheduled_date == day(1, 6)
        assert created.next_booking_date == day(3, 6)

    async def test_weekly_on_a_weekday(self, recurring, user, checking):
        schedule = Schedule(
            frequency=Schedule.FREQUENCY_WEEKLY,
            start_date=day(3),  # a Wednesday
            weekday=dayofweek_pb2.MONDAY,
        )
        created = await create_recurring(
            recurring, user.name, monthly_expense(checking.name, schedule=schedule)
        )
        assert created.schedule.weekday == dayofweek_pb2.MONDAY
        assert created.next_booking_date == day(8)

    async def test_refuses_a_missing_template_and_schedule(self, recurring, user):
        assert await invalid_fields(
            recurring.CreateRecurringTransaction(
                R.CreateRecurringTransactionRequest(
                    parent=user.name, recurring_transaction=R.RecurringTransaction()
                )
            )
        ) == {
            "recurring_transaction.template": "is required",
            "recurring_transaction.schedule": "is required",
        }

    async def test_refuses_every_bad_template_field_at_once(self, recurring, user):
        bad = Template(
            account="accounts/x",
            amount=money(1, "XXX1"),
            to_account=f"{user.name}/accounts/a",
            to_amount=money(1),
            category="nope",
            payee="nope",
            description="two\nlines",
            state=tpb.Transaction.STATE_VOIDED,
        )
        found = await invalid_fields(
            create_recurring(recurring, user.name, monthly_expense("", template=bad))
        )
        t = "recurring_transaction.template"
        assert set(found) == {
            f"{t}.kind",
            f"{t}.account",
            f"{t}.amount.currency_code",
            f"{t}.to_account",
            f"{t}.to_amount",
            f"{t}.category",
            f"{t}.payee",
            f"{t}.description",
            f"{t}.state",
        }

    async def test_refuses_a_transfer_without_to_account_and_with_a_category(
        self, recurring, user, checking
    ):
        template = Template(
            kind=Template.KIND_TRANSFER,
            account=checking.name,
            amount=money(5),
            category=f"{user.name}/categories/c",
        )
        found = await invalid_fields(
            create_recurring(recurring, user.name, monthly_expense("", template=template))
        )
        assert found == {
            "recurring_transaction.template.to_account": "is required for a transfer",
            "recurring_transaction.template.category": "is not for transfers",
        }

    async def test_refuses_amounts_that_are_not_positive(self, recurring, user, checking):
        for units in (0, -1):
            template = Template(
                kind=Template.KIND_EXPENSE, account=checking.name, amount=money(units)
            )
            found = await invalid_fields(
                create_recurring(recurring, user.name, monthly_expense("", template=template))
            )
            assert found == {"recurring_transaction.template.amount": "must be positive"}

    async def test_refuses_a_transfer_to_the_same_account(self, recurring, user, checking):
        template = Template(
            kind=Template.KIND_TRANSFER,
            account=checking.name,
            to_account=checking.name,
            amount=money(5),
        )
        found = await invalid_fields(
            create_recurring(recurring, user.name, monthly_expense("", template=template))
        )
        assert found == {
            "recurring_transaction.template.to_account": "must differ from from_account"
        }

    async def test_refuses_an_amount_in_another_currency_than_the_account(
        self, recurring, user, checking
    ):
        template = Template(
            kind=Template.KIND_EXPENSE, account=checking.name, amount=money(5, "USD")
        )
        found = await invalid_fields(
            create_recurring(recurring, user.name, monthly_expense("", template=template))
        )
        assert found == {
            "recurring_transaction.template.amount.currency_code": (
                "must be the account's currency EUR"
            )
        }

    async def test_refuses_a_category_of_the_other_kind(
        self, recurring, categories, user, checking
    ):
        salary = await create_category(categories, user.name, "Salary", INCOME)
        template = Template(
            kind=Template.KIND_EXPENSE,
            account=checking.name,
            amount=money(5),
            category=salary.name,
        )
        found = await invalid_fields(
            create_recurring(recurring, user.name, monthly_expense("", template=template))
        )
        assert set(found) == {"recurring_transaction.template.category"}

    async def test_unknown_account_is_not_found(self, recurring, user):
        error = await rpc_error(
            create_recurring(
                recurring, user.name, monthly_expense(f"{user.name}/accounts/missing")
            ),
            grpc.StatusCode.NOT_FOUND,
        )
        assert "missing" in (error.details() or "")

    async def test_an_archived_account_is_a_failed_precondition(
        self, recurring, accounts, user, checking
    ):
        await accounts.ArchiveAccount(apb.ArchiveAccountRequest(name=checking.name))
        await rpc_error(
            create_recurring(recurring, user.name, monthly_expense(checking.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )

    async def test_refuses_every_bad_schedule_field(self, recurring, user, checking):
        s = "recurring_transaction.schedule"
        cases: list[tuple[Schedule, dict[str, str]]] = [
            (Schedule(start_date=day(1)), {f"{s}.frequency": "is required"}),
            (
                Schedule(frequency=Schedule.FREQUENCY_DAILY),
                {f"{s}.start_date": "is required"},
            ),
            (
                Schedule(frequency=Schedule.FREQUENCY_DAILY, start_date=day(30, 2)),
                {f"{s}.start_date": "2024-02-30 is not a calendar date"},
            ),
            (
                Schedule(frequency=Schedule.FREQUENCY_DAILY, start_date=day(1), interval=-1),
                {f"{s}.interval": "must be between 1 and 1000"},
            ),
            (
                Schedule(frequency=Schedule.FREQUENCY_DAILY, start_date=day(1), interval=1001),
                {f"{s}.interval": "must be between 1 and 1000"},
            ),
            (
                Schedule(frequency=Schedule.FREQUENCY_DAILY, start_date=day(2), end_date=day(1)),
                {f"{s}.end_date": "must not be before start_date"},
            ),
            (
                Schedule(
                    frequency=Schedule.FREQUENCY_DAILY, start_date=day(1), end_date=day(3), count=2
                ),
                {f"{s}.count": "must not be set together with end_date"},
            ),
            (
                Schedule(frequency=Schedule.FREQUENCY_DAILY, start_date=day(1), count=-2),
                {f"{s}.count": "must be between 1 and 100000"},
            ),
            (
                Schedule(frequency=Schedule.FREQUENCY_MONTHLY, start_date=day(1), day_of_month=32),
                {f"{s}.day_of_month": "must be between 1 and 31"},
            ),
            (
                Schedule(frequency=Schedule.FREQUENCY_DAILY, start_date=day(1), day_of_month=3),
                {f"{s}.day_of_month": "is only for monthly and yearly schedules"},
            ),
            (
                Schedule(
                    frequency=Schedule.FREQUENCY_DAILY,
                    start_date=day(1),
                    weekday=dayofweek_pb2.MONDAY,
                ),
                {f"{s}.weekday": "is only for weekly schedules"},
            ),
            (
                Schedule(frequency=Schedule.FREQUENCY_WEEKLY, start_date=day(1), weekday=9),
                {f"{s}.weekday": "is not a day of the week"},
            ),
            (
                Schedule(frequency=Schedule.FREQUENCY_DAILY, start_date=day(1), weekend_rule=9),  # type: ignore[arg-type]
                {f"{s}.weekend_rule": "is not a weekend rule"},
            ),
            (
                Schedule(frequency=9, start_date=day(1)),  # type: ignore[arg-type]
                {f"{s}.frequency": "is required"},
            ),
        ]
        for schedule, wanted in cases:
            found = await invalid_fields(
                create_recurring(
                    recurring, user.name, monthly_expense(checking.name, schedule=schedule)
                )
            )
            assert {f: d.split(":")[0] for f, d in found.items()} == {
                f: d.split(":")[0] for f, d in wanted.items()
            }, schedule


class TestListAndDelete:
    async def test_lists_and_filters_by_state(self, recurring, user, checking):
        first = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        second = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await recurring.PauseRecurringTransaction(
            R.PauseRecurringTransactionRequest(name=second.name)
        )
        listed = await recurring.ListRecurringTransactions(
            R.ListRecurringTransactionsRequest(parent=user.name)
        )
        assert [r.name for r in listed.recurring_transactions] == [first.name, second.name]
        paused = await recurring.ListRecurringTransactions(
            R.ListRecurringTransactionsRequest(parent=user.name, filter="state = STATE_PAUSED")
        )
        assert [r.name for r in paused.recurring_transactions] == [second.name]

    async def test_list_of_an_unknown_user_is_not_found(self, recurring):
        await rpc_error(
            recurring.ListRecurringTransactions(
                R.ListRecurringTransactionsRequest(parent="users/nobody-here")
            ),
            grpc.StatusCode.NOT_FOUND,
        )

    async def test_delete_keeps_the_recorded_transactions(
        self, recurring, transactions, scheduler, clock, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await run_on(scheduler, clock, date(2024, 1, 31))
        await recurring.DeleteRecurringTransaction(
            R.DeleteRecurringTransactionRequest(name=created.name)
        )
        await rpc_error(
            recurring.GetRecurringTransaction(R.GetRecurringTransactionRequest(name=created.name)),
            grpc.StatusCode.NOT_FOUND,
        )
        await run_on(scheduler, clock, date(2024, 3, 31))
        assert await booked(transactions, user) == [(date(2024, 1, 31), -10, "Rent")]

    async def test_delete_with_a_stale_etag_is_aborted(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await recurring.PauseRecurringTransaction(
            R.PauseRecurringTransactionRequest(name=created.name)
        )
        await rpc_error(
            recurring.DeleteRecurringTransaction(
                R.DeleteRecurringTransactionRequest(name=created.name, etag=created.etag)
            ),
            grpc.StatusCode.ABORTED,
        )


class TestScheduler:
    async def test_records_an_occurrence_on_its_booking_date_not_the_day_before(
        self, recurring, transactions, scheduler, clock, user, checking
    ):
        await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await run_on(scheduler, clock, date(2024, 1, 30))
        assert await booked(transactions, user) == []
        await run_on(scheduler, clock, date(2024, 1, 31))
        assert await booked(transactions, user) == [(date(2024, 1, 31), -10, "Rent")]

    async def test_running_again_records_nothing_twice(
        self, recurring, transactions, scheduler, clock, user, checking
    ):
        await create_recurring(recurring, user.name, monthly_expense(checking.name))
        for _ in range(3):
            await run_on(scheduler, clock, date(2024, 2, 29))
        assert await booked(transactions, user) == [
            (date(2024, 1, 31), -10, "Rent"),
            (date(2024, 2, 29), -10, "Rent"),
        ]

    async def test_catches_up_every_missed_occurrence_with_its_own_date_and_stops_at_count(
        self, recurring, transactions, accounts, scheduler, clock, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await run_on(scheduler, clock, date(2024, 12, 31))
        assert await booked(transactions, user) == [
            (date(2024, 1, 31), -10, "Rent"),
            (date(2024, 2, 29), -10, "Rent"),
            (date(2024, 3, 31), -10, "Rent"),
        ]
        account = await accounts.GetAccount(apb.GetAccountRequest(name=checking.name))
        assert account.balance == money(-30)
        after = await recurring.GetRecurringTransaction(
            R.GetRecurringTransactionRequest(name=created.name)
        )
        assert not after.HasField("next_booking_date")
        assert after.etag != created.etag

    async def test_records_each_occurrence_as_pending_when_the_template_says(
        self, recurring, transactions, scheduler, clock, user, checking
    ):
        template = Template(
            kind=Template.KIND_INCOME,
            account=checking.name,
            amount=money(100),
            state=tpb.Transaction.STATE_PENDING,
        )
        await create_recurring(
            recurring, user.name, monthly_expense(checking.name, template=template)
        )
        await run_on(scheduler, clock, date(2024, 1, 31))
        page = await transactions.ListTransactions(tpb.ListTransactionsRequest(parent=user.name))
        assert [t.state for t in page.transactions] == [tpb.Transaction.STATE_PENDING]
        assert page.transactions[0].postings[0].amount == money(100)

    async def test_records_transfers_and_links_each_occurrence_to_its_transaction(
        self, recurring, transactions, accounts, scheduler, clock, user, checking
    ):
        savings = await create_account(accounts, user.name, display_name="Savings")
        template = Template(
            kind=Template.KIND_TRANSFER,
            account=checking.name,
            to_account=savings.name,
            amount=money(50),
            description="Savings plan",
        )
        created = await create_recurring(
            recurring, user.name, monthly_expense(checking.name, template=template)
        )
        await run_on(scheduler, clock, date(2024, 2, 1))
        found = await occurrences(recurring, created.name)
        assert dates(found) == [
            (date(2024, 1, 31), Occurrence.STATE_RECORDED),
            (date(2024, 2, 29), Occurrence.STATE_SCHEDULED),
            (date(2024, 3, 31), Occurrence.STATE_SCHEDULED),
        ]
        transaction = await transactions.GetTransaction(
            tpb.GetTransactionRequest(name=found[0].transaction)
        )
        assert [(p.account, p.amount.units) for p in transaction.postings] == [
            (checking.name, -50),
            (savings.name, 50),
        ]
        assert transaction.description == "Savings plan"

    async def test_books_weekend_occurrences_on_the_friday_before(
        self, recurring, transactions, scheduler, clock, user, checking
    ):
        # 2024-08-31 is a Saturday; it is booked on Friday the 30th, and so due then.
        schedule = Schedule(
            frequency=Schedule.FREQUENCY_MONTHLY,
            start_date=day(31, 7),
            count=2,
            weekend_rule=Schedule.WEEKEND_RULE_FRIDAY_BEFORE,
        )
        await create_recurring(
            recurring, user.name, monthly_expense(checking.name, schedule=schedule)
        )
        await run_on(scheduler, clock, date(2024, 8, 30))
        assert await booked(transactions, user) == [
            (date(2024, 7, 31), -10, "Rent"),
            (date(2024, 8, 30), -10, "Rent"),
        ]

    async def test_an_occurrence_the_ledger_refuses_fails_and_the_schedule_goes_on(
        self, recurring, transactions, accounts, scheduler, clock, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await accounts.ArchiveAccount(apb.ArchiveAccountRequest(name=checking.name))
        await run_on(scheduler, clock, date(2024, 1, 31))
        await accounts.UnarchiveAccount(apb.UnarchiveAccountRequest(name=checking.name))
        await run_on(scheduler, clock, date(2024, 2, 29))
        found = await occurrences(recurring, created.name)
        assert dates(found)[:2] == [
            (date(2024, 1, 31), Occurrence.STATE_FAILED),
            (date(2024, 2, 29), Occurrence.STATE_RECORDED),
        ]
        assert "archived" in found[0].failure_reason
        assert await booked(transactions, user) == [(date(2024, 2, 29), -10, "Rent")]


class TestARefusal:
    async def test_a_refusal_another_scheduler_settled_meanwhile_fails_nothing_else(
        self, app, recurring, user, checking
    ):
        # The second unit of work of a refused occurrence finds the next one another: it
        # records nothing rather than failing an occurrence nobody tried.
        from service.api import names
        from service.domain.audit import SYSTEM_CALLER
        from service.domain.keys import owner_of
        from service.services.scheduler import Refused

        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        key = names.parse_recurring_transaction_name(created.name)
        recorder = OccurrenceRecorder(app.uow)
        settled = Refused(date(2023, 12, 31), "refused, and settled by another scheduler")
        assert await app.uow.run(
            lambda w: recorder._record(w, key, date(2024, 1, 31), failure=settled),
            caller=SYSTEM_CALLER,
            user=owner_of(key),
        )
        assert dates(await occurrences(recurring, created.name))[0] == (
            date(2024, 1, 31),
            Occurrence.STATE_SCHEDULED,
        )


class TestTwoSchedulers:
    async def test_racing_schedulers_record_each_occurrence_once(
        self, recurring, transactions, database_url, user, checking
    ):
        from service.db.database import Database
        from service.db.unit_of_work import UnitOfWork

        daily = Schedule(frequency=Schedule.FREQUENCY_DAILY, start_date=day(1), count=20)
        created = [
            await create_recurring(
                recurring, user.name, monthly_expense(checking.name, units=i + 1, schedule=daily)
            )
            for i in range(4)
        ]
        clock = Clock(date(2024, 1, 31))
        pools = [await Database.connect(database_url, min_size=1, max_size=4) for _ in range(2)]
        try:
            schedulers = [
                RecurringScheduler(OccurrenceRecorder(UnitOfWork(p)), today=clock, interval=1)
                for p in pools
                for _ in range(2)
            ]
            await asyncio.gather(*(s.run_once() for s in schedulers))
        finally:
            for pool in pools:
                await pool.close()
        recorded = await booked(transactions, user)
        assert len(recorded) == 4 * 20
        assert len(set(recorded)) == 4 * 20  # each (day, amount) once
        for item in created:
            found = await occurrences(recurring, item.name)
            assert [o.state for o in found] == [Occurrence.STATE_RECORDED] * 20
            assert len({o.transaction for o in found}) == 20

    async def test_a_second_record_of_one_occurrence_is_refused_by_its_key(
        self, app, recurring, user, checking
    ):
        from service.api import names
        from service.domain.audit import SYSTEM_CALLER
        from service.domain.keys import owner_of
        from service.domain.recurring import OccurrenceRecord, OccurrenceStatus

        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        key = names.parse_recurring_transaction_name(created.name)
        skipped = OccurrenceRecord(date(2024, 1, 31), date(2024, 1, 31), OccurrenceStatus.SKIPPED)

        async def add_twice(w):
            await w.recurring.add_occurrence(key, skipped)
            await w.recurring.add_occurrence(key, skipped)

        with pytest.raises(Exception, match="duplicate key"):
            await app.uow.run(add_twice, caller=SYSTEM_CALLER, user=owner_of(key))


class TestPauseAndResume:
    async def test_nothing_is_recorded_while_paused(
        self, recurring, transactions, scheduler, clock, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        paused = await recurring.PauseRecurringTransaction(
            R.PauseRecurringTransactionRequest(name=created.name, etag=created.etag)
        )
        assert paused.state == R.RecurringTransaction.STATE_PAUSED
        await run_on(scheduler, clock, date(2024, 2, 29))
        assert await booked(transactions, user) == []

    async def test_resuming_records_from_the_day_of_resuming_on(
        self, recurring, on_clock, transactions, scheduler, clock, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await recurring.PauseRecurringTransaction(
            R.PauseRecurringTransactionRequest(name=created.name)
        )
        clock.today = date(2024, 2, 29)  # the day of February's occurrence
        resumed = await on_clock.ResumeRecurringTransaction(
            R.ResumeRecurringTransactionRequest(name=created.name)
        )
        assert resumed.state == R.RecurringTransaction.STATE_ACTIVE
        assert resumed.next_booking_date == day(29, 2)
        await scheduler.run_once()
        assert await booked(transactions, user) == [(date(2024, 2, 29), -10, "Rent")]

    async def test_resuming_the_day_after_an_occurrence_leaves_it_out(
        self, recurring, on_clock, clock, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await recurring.PauseRecurringTransaction(
            R.PauseRecurringTransactionRequest(name=created.name)
        )
        clock.today = date(2024, 3, 1)
        resumed = await on_clock.ResumeRecurringTransaction(
            R.ResumeRecurringTransactionRequest(name=created.name)
        )
        assert resumed.next_booking_date == day(31, 3)

    async def test_pausing_twice_changes_nothing(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        paused = await recurring.PauseRecurringTransaction(
            R.PauseRecurringTransactionRequest(name=created.name)
        )
        again = await recurring.PauseRecurringTransaction(
            R.PauseRecurringTransactionRequest(name=created.name, etag=paused.etag)
        )
        assert again == paused

    async def test_a_stale_etag_is_aborted(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await recurring.PauseRecurringTransaction(
            R.PauseRecurringTransactionRequest(name=created.name)
        )
        await rpc_error(
            recurring.ResumeRecurringTransaction(
                R.ResumeRecurringTransactionRequest(name=created.name, etag=created.etag)
            ),
            grpc.StatusCode.ABORTED,
        )


class TestSkipOccurrence:
    async def test_a_skipped_occurrence_is_not_recorded(
        self, recurring, transactions, scheduler, clock, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        skipped = await recurring.SkipOccurrence(
            R.SkipOccurrenceRequest(name=created.name, occurrence_date=day(29, 2))
        )
        assert skipped.next_booking_date == day(31)  # not the next one: that stays
        await run_on(scheduler, clock, date(2024, 12, 31))
        assert await booked(transactions, user) == [
            (date(2024, 1, 31), -10, "Rent"),
            (date(2024, 3, 31), -10, "Rent"),
        ]
        assert dates(await occurrences(recurring, created.name)) == [
            (date(2024, 1, 31), Occurrence.STATE_RECORDED),
            (date(2024, 2, 29), Occurrence.STATE_SKIPPED),
            (date(2024, 3, 31), Occurrence.STATE_RECORDED),
        ]

    async def test_skipping_the_next_occurrence_moves_next_on(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        skipped = await recurring.SkipOccurrence(
            R.SkipOccurrenceRequest(name=created.name, occurrence_date=day(31))
        )
        assert skipped.next_scheduled_date == day(29, 2)

    async def test_a_day_that_is_no_occurrence_is_invalid(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        for not_scheduled in (day(30), day(1, 2), day(30, 4)):  # before, between, after the end
            found = await invalid_fields(
                recurring.SkipOccurrence(
                    R.SkipOccurrenceRequest(name=created.name, occurrence_date=not_scheduled)
                )
            )
            assert set(found) == {"occurrence_date"}

    async def test_skipping_an_occurrence_done_with_is_a_failed_precondition(
        self, recurring, scheduler, clock, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await run_on(scheduler, clock, date(2024, 1, 31))
        await rpc_error(
            recurring.SkipOccurrence(
                R.SkipOccurrenceRequest(name=created.name, occurrence_date=day(31))
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        await recurring.SkipOccurrence(
            R.SkipOccurrenceRequest(name=created.name, occurrence_date=day(31, 3))
        )
        await rpc_error(
            recurring.SkipOccurrence(
                R.SkipOccurrenceRequest(name=created.name, occurrence_date=day(31, 3))
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )

    async def test_an_occurrence_passed_while_paused_cannot_be_skipped(
        self, recurring, on_clock, clock, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await recurring.PauseRecurringTransaction(
            R.PauseRecurringTransactionRequest(name=created.name)
        )
        clock.today = date(2024, 3, 1)
        await on_clock.ResumeRecurringTransaction(
            R.ResumeRecurringTransactionRequest(name=created.name)
        )
        await rpc_error(
            recurring.SkipOccurrence(
                R.SkipOccurrenceRequest(name=created.name, occurrence_date=day(29, 2))
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
        )

    async def test_a_retry_with_the_same_request_id_succeeds_again(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        request = R.SkipOccurrenceRequest(
            name=created.name, occurrence_date=day(29, 2), request_id=str(uuid.uuid4())
        )
        first = await recurring.SkipOccurrence(request)
        assert await recurring.SkipOccurrence(request) == first

    async def test_refuses_a_missing_date_and_a_bad_name(self, recurring):
        found = await invalid_fields(recurring.SkipOccurrence(R.SkipOccurrenceRequest(name="x")))
        assert set(found) == {"name", "occurrence_date"}


class TestUpdateRecurringTransaction:
    async def test_a_new_amount_applies_to_the_occurrences_to_come_only(
        self, recurring, transactions, scheduler, clock, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await run_on(scheduler, clock, date(2024, 1, 31))
        changed = monthly_expense(checking.name, units=12)
        changed.name = created.name
        updated = await recurring.UpdateRecurringTransaction(
            R.UpdateRecurringTransactionRequest(
                recurring_transaction=changed, update_mask=mask("template")
            )
        )
        assert updated.template.amount == money(12)
        await run_on(scheduler, clock, date(2024, 3, 31))
        assert await booked(transactions, user) == [
            (date(2024, 1, 31), -10, "Rent"),
            (date(2024, 2, 29), -12, "Rent"),
            (date(2024, 3, 31), -12, "Rent"),
        ]

    async def test_a_new_schedule_leaves_past_dates_alone(
        self, recurring, transactions, scheduler, clock, user, checking
    ):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await run_on(scheduler, clock, date(2024, 2, 29))
        earlier = Schedule(
            frequency=Schedule.FREQUENCY_MONTHLY, start_date=day(15), day_of_month=15
        )
        await recurring.UpdateRecurringTransaction(
            R.UpdateRecurringTransactionRequest(
                recurring_transaction=R.RecurringTransaction(name=created.name, schedule=earlier),
                update_mask=mask("schedule"),
            )
        )
        await run_on(scheduler, clock, date(2024, 3, 20))
        assert await booked(transactions, user) == [
            (date(2024, 1, 31), -10, "Rent"),
            (date(2024, 2, 29), -10, "Rent"),
            (date(2024, 3, 15), -10, "Rent"),
        ]

    async def test_refuses_a_bad_mask_and_a_stale_etag(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        found = await invalid_fields(
            recurring.UpdateRecurringTransaction(
                R.UpdateRecurringTransactionRequest(
                    recurring_transaction=R.RecurringTransaction(name=created.name),
                    update_mask=mask("name"),
                )
            )
        )
        assert set(found) == {"update_mask"}
        paused = await recurring.PauseRecurringTransaction(
            R.PauseRecurringTransactionRequest(name=created.name)
        )
        stale = monthly_expense(checking.name, name=created.name, etag=created.etag)
        await rpc_error(
            recurring.UpdateRecurringTransaction(
                R.UpdateRecurringTransactionRequest(
                    recurring_transaction=stale, update_mask=mask("*")
                )
            ),
            grpc.StatusCode.ABORTED,
        )
        fresh = monthly_expense(checking.name, name=created.name, etag=paused.etag)
        await recurring.UpdateRecurringTransaction(
            R.UpdateRecurringTransactionRequest(recurring_transaction=fresh, update_mask=mask("*"))
        )

    async def test_refuses_a_bad_schedule(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        bad = Schedule(frequency=Schedule.FREQUENCY_MONTHLY, start_date=day(1), interval=5000)
        error = await rpc_error(
            recurring.UpdateRecurringTransaction(
                R.UpdateRecurringTransactionRequest(
                    recurring_transaction=R.RecurringTransaction(name=created.name, schedule=bad),
                    update_mask=mask("schedule"),
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert set(field_violations(error)) == {"recurring_transaction.schedule.interval"}


class TestListUpcomingOccurrences:
    async def test_lists_the_range_both_ends_included(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        found = await occurrences(recurring, created.name, day(29, 2), day(31, 3))
        assert dates(found) == [
            (date(2024, 2, 29), Occurrence.STATE_SCHEDULED),
            (date(2024, 3, 31), Occurrence.STATE_SCHEDULED),
        ]

    async def test_a_range_of_366_days_is_the_longest(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await occurrences(recurring, created.name, day(1), day(1, 1, 2025))  # 366 days
        found = await invalid_fields(
            recurring.ListUpcomingOccurrences(
                R.ListUpcomingOccurrencesRequest(
                    name=created.name, start_date=day(1), end_date=day(2, 1, 2025)
                )
            )
        )
        assert found == {"end_date": "must be at most 366 days after start_date"}

    async def test_a_range_of_one_day(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        found = await occurrences(recurring, created.name, day(29, 2), day(29, 2))
        assert dates(found) == [(date(2024, 2, 29), Occurrence.STATE_SCHEDULED)]

    async def test_refuses_a_reversed_or_missing_range(self, recurring, user, checking):
        created = await create_recurring(recurring, user.name, monthly_expense(checking.name))
        reversed_range = await invalid_fields(
            recurring.ListUpcomingOccurrences(
                R.ListUpcomingOccurrencesRequest(
                    name=created.name, start_date=day(2), end_date=day(1)
                )
            )
        )
        assert reversed_range == {"end_date": "must not be before start_date"}
        missing = await invalid_fields(
            recurring.ListUpcomingOccurrences(R.ListUpcomingOccurrencesRequest(name=created.name))
        )
        assert set(missing) == {"start_date", "end_date"}


class TestAudit:
    async def test_every_change_is_in_the_audit_trail(
        self, recurring, audit, scheduler, clock, user, checking, payees
    ):
        from finance.v1 import audit_service_pb2 as aupb

        payee = await create_payee(payees, user.name)
        template = Template(
            kind=Template.KIND_EXPENSE, account=checking.name, amount=money(3), payee=payee.name
        )
        created = await create_recurring(
            recurring, user.name, monthly_expense(checking.name, template=template)
        )
        await recurring.SkipOccurrence(
            R.SkipOccurrenceRequest(name=created.name, occurrence_date=day(29, 2))
        )
        await run_on(scheduler, clock, date(2024, 1, 31))
        await recurring.PauseRecurringTransaction(
            R.PauseRecurringTransactionRequest(name=created.name)
        )
        await recurring.ResumeRecurringTransaction(
            R.ResumeRecurringTransactionRequest(name=created.name)
        )
        await recurring.DeleteRecurringTransaction(
            R.DeleteRecurringTransactionRequest(name=created.name)
        )
        events = await audit.ListAuditEvents(
            aupb.ListAuditEventsRequest(parent=user.name, filter=f'resource = "{created.name}"')
        )
        actions = sorted(e.action for e in events.audit_events)
        assert actions == sorted(["create", "skip", "occur_recorded", "pause", "resume", "delete"])
        created_event = next(e for e in events.audit_events if e.action == "create")
        assert created_event.after["template"]["payee"] == payee.name


class TestErasingTheUser:
    async def test_a_forced_delete_erases_recurring_transactions_and_their_occurrences(
        self, users, recurring, scheduler, clock, user, checking
    ):
        from finance.v1 import user_service_pb2 as upb

        await create_recurring(recurring, user.name, monthly_expense(checking.name))
        await run_on(scheduler, clock, date(2024, 2, 29))
        await users.DeleteUser(upb.DeleteUserRequest(name=user.name, force=True))
        await rpc_error(
            recurring.ListRecurringTransactions(
                R.ListRecurringTransactionsRequest(parent=user.name)
            ),
            grpc.StatusCode.NOT_FOUND,
        )


class TestTheServersScheduler:
    async def test_a_started_server_records_due_occurrences_on_its_clock(
        self, database, database_url, recurring, transactions, user, checking
    ):
        await create_recurring(recurring, user.name, monthly_expense(checking.name))
        built = build_app(
            make_settings(database_url, recurring_interval_seconds=0.05),
            database,
            today=lambda: date(2024, 2, 29),
        )
        assert built.scheduler is not None
        await built.start()
        try:
            for _ in range(400):  # a bound, not a timing assertion: it is done when done
                if len(await booked(transactions, user)) == 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            await built.stop(grace=1)
        assert await booked(transactions, user) == [
            (date(2024, 1, 31), -10, "Rent"),
            (date(2024, 2, 29), -10, "Rent"),
        ]

    async def test_an_interval_of_zero_runs_no_scheduler(self, database, database_url):
        built = build_app(make_settings(database_url, recurring_interval_seconds=0), database)
        await built.server.stop(None)
        assert built.scheduler is None


class TestTransfersBetweenCurrencies:
    async def test_records_both_amounts_each_in_its_own_currency(
        self, recurring, transactions, accounts, scheduler, clock, user, checking
    ):
        dollars = await create_account(
            accounts, user.name, display_name="Dollars", currency_code="USD"
        )
        template = Template(
            kind=Template.KIND_TRANSFER,
            account=checking.name,
            to_account=dollars.name,
            amount=money(100),
            to_amount=money(108, "USD", nanos=420_000_000),
        )
        created = await create_recurring(
            recurring, user.name, monthly_expense(checking.name, template=template)
        )
        await run_on(scheduler, clock, date(2024, 1, 31))
        found = await occurrences(recurring, created.name)
        transaction = await transactions.GetTransaction(
            tpb.GetTransactionRequest(name=found[0].transaction)
        )
        assert transaction.exchange_rate == "1.0842"
        balance = await accounts.GetAccount(apb.GetAccountRequest(name=dollars.name))
        assert balance.balance == money(108, "USD", nanos=420_000_000)

    async def test_without_to_amount_between_currencies_is_invalid(
        self, recurring, accounts, user, checking
    ):
        dollars = await create_account(
            accounts, user.name, display_name="Dollars", currency_code="USD"
        )
        template = Template(
            kind=Template.KIND_TRANSFER,
            account=checking.name,
            to_account=dollars.name,
            amount=money(100),
        )
        found = await invalid_fields(
            create_recurring(recurring, user.name, monthly_expense("", template=template))
        )
        assert found == {
            "recurring_transaction.template.to_amount": "is required when the currencies differ"
        }
