"""The scheduler: records every due occurrence of every user's recurring transactions, once.

Each occurrence is recorded in a unit of work of its own, with the recurring transaction
locked (`FOR UPDATE SKIP LOCKED`: a second scheduler, in this process or another, moves on to
other work) and the occurrence kept under its unique key (user, recurring transaction,
scheduled date) beside the transaction it records: a crash before COMMIT records neither, and
a second record of one occurrence fails instead of doubling it. Occurrences missed while no
scheduler ran are all recorded on the next pass, each with its own booking date.
"""

import asyncio
import contextlib
import logging
import uuid
from datetime import date

from service.db.unit_of_work import UnitOfWork, Work
from service.domain.audit import SYSTEM_CALLER
from service.domain.clock import Today
from service.domain.errors import Aborted, DeadlineExceeded, DomainError, Unavailable
from service.domain.keys import RecurringTransactionKey, TransactionKey, owner_of
from service.domain.ledger import check_balanced
from service.domain.recurring import (
    OccurrenceRecord,
    OccurrenceStatus,
    RecurringTransaction,
    template_draft,
)
from service.domain.schedules import Occurrence, Schedule, first_after
from service.services.bookkeeping import record_transaction

log = logging.getLogger(__name__)

# The due recurring transactions one look-up returns.
BATCH = 100


class OccurrenceRecorder:
    """Records due occurrences, as the service itself (the system caller)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def due(self, today: date) -> list[RecurringTransactionKey]:
        """Recurring transactions of every user with an occurrence booked by `today` that no
        other scheduler is recording."""

        async def work(w: Work) -> list[RecurringTransactionKey]:
            return await w.recurring.due(today, limit=BATCH)

        return await self._uow.run(work, caller=SYSTEM_CALLER, user=None, need=None)

    async def record_next(self, key: RecurringTransactionKey, today: date) -> bool:
        """Record the next occurrence of `key` if it is booked by `today` (as a failed one
        when the ledger refuses it); False when nothing was due or another scheduler holds
        it."""
        try:
            return await self._uow.run(
                lambda w: self._record(w, key, today, failure=None),
                caller=SYSTEM_CALLER,
                user=owner_of(key),
            )
        except Refused as refused:
            failure = refused
        log.info("an occurrence of %s failed: %s", key, failure.reason)
        return await self._uow.run(
            lambda w: self._record(w, key, today, failure=failure),
            caller=SYSTEM_CALLER,
            user=owner_of(key),
        )

    async def _record(
        self, w: Work, key: RecurringTransactionKey, today: date, *, failure: "Refused | None"
    ) -> bool:
        before = await w.recurring.lock_due(key, today)
        if before is None:
            return False
        occurrence = first_after(before.schedule, before.handled_through)
        assert occurrence is not None  # due, so there is one
        if failure is not None and failure.scheduled_date != occurrence.scheduled_date:
            # Another scheduler settled the refused occurrence meanwhile: this one is next,
            # and has not been tried yet.
            return True
        done = await w.recurring.occurrence(key, occurrence.scheduled_date)
        if done is None:  # not skipped
            done = await self._occur(w, key, occurrence, before, failure)
        after = await w.recurring.change(
            key,
            handled_through=occurrence.scheduled_date,
            due_date=_booking_after(before.schedule, occurrence.scheduled_date),
        )
        await w.record(key, f"occur_{done.status.value}", before=before, after=after)
        return True

    async def _occur(
        self,
        w: Work,
        key: RecurringTransactionKey,
        occurrence: Occurrence,
        recurring: RecurringTransaction,
        failure: "Refused | None",
    ) -> OccurrenceRecord:
        """Record `occurrence` as a transaction, or as failed with `failure`. Raises Refused
        when the ledger refuses it (the unit of work rolls back)."""
        scheduled = occurrence.scheduled_date
        if failure is not None:
            done = OccurrenceRecord(
                scheduled, occurrence.booking_date, OccurrenceStatus.FAILED, failure=failure.reason
            )
        else:
            transaction_key = TransactionKey(key.user_id, str(uuid.uuid4()))
            try:
                draft = template_draft(recurring.template, occurrence.booking_date)
                check_balanced(draft.postings)
                await record_transaction(w, transaction_key, draft)
            except DomainError as error:
                if not _refused(error):
                    raise
                raise Refused(scheduled, str(error)) from error
            done = OccurrenceRecord(
                scheduled,
                occurrence.booking_date,
                OccurrenceStatus.RECORDED,
                transaction_id=transaction_key.transaction_id,
            )
        await w.recurring.add_occurrence(key, done)
        return done


class Refused(Exception):
    """The ledger refused to record the occurrence scheduled on `scheduled_date`."""

    def __init__(self, scheduled_date: date, reason: str) -> None:
        super().__init__(reason)
        self.scheduled_date = scheduled_date
        self.reason = reason


def _refused(error: DomainError) -> bool:
    """Whether the ledger refused the occurrence for good (rather than the database being
    unreachable or busy, which the next pass rides out)."""
    return not isinstance(error, Aborted | Unavailable | DeadlineExceeded)


def _booking_after(schedule: Schedule, scheduled: date) -> date | None:
    nxt = first_after(schedule, scheduled)
    return None if nxt is None else nxt.booking_date


class RecurringScheduler:
    """Runs the occurrence recorder every `interval` seconds against the books' clock."""

    def __init__(self, recorder: OccurrenceRecorder, *, today: Today, interval: float) -> None:
        self._recorder = recorder
        self._today = today
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Record every occurrence due today or before, missed ones included; returns how
        many this scheduler recorded (skipped and failed ones count too)."""
        today = self._today()
        handled = 0
        while True:
            progressed = False
            for key in await self._recorder.due(today):
                while await self._recorder.record_next(key, today):
                    handled += 1
                    progressed = True
            if not progressed:
                return handled

    def start(self) -> None:
        """Run a pass now and then every interval, in the background."""
        self._task = asyncio.create_task(self._run(), name="recurring-scheduler")

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # the next pass tries again; the scheduler must not end
                log.exception("recording recurring transactions failed; trying again later")
            await asyncio.sleep(self._interval)

    async def stop(self) -> None:
        """Stop running passes (one under way is cancelled: its unit of work rolls back)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
