"""Recurring transactions: their use cases, and recording each due occurrence once."""

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from service.db.unit_of_work import UnitOfWork, Work
from service.domain import ledger_rules
from service.domain.audit import Caller
from service.domain.clock import Today
from service.domain.errors import NotFound
from service.domain.keys import RecurringTransactionKey, UserKey, owner_of
from service.domain.listing import ListQuery, Page
from service.domain.recurring import (
    OccurrenceRecord,
    OccurrenceStatus,
    RecurringChanges,
    RecurringState,
    RecurringTransaction,
    Template,
    check_skippable,
    in_template,
    resumed_through,
    template_draft,
)
from service.domain.revisions import check_revision
from service.domain.schedules import (
    Schedule,
    booked_between,
    check_schedule,
    first_after,
    occurrence_on,
)
from service.services.bookkeeping import check_references
from service.services.owners import owned_page


def _due_date(schedule: Schedule, handled_through: date | None) -> date | None:
    nxt = first_after(schedule, handled_through)
    return None if nxt is None else nxt.booking_date


async def _check_template(work: Work, owner: UserKey, template: Template) -> None:
    """Raise what recording the template would raise about its accounts, category and payee
    (NotFound, InvalidArgument, FailedPrecondition), except for limits and balances, which
    each occurrence meets in its own time."""
    draft = template_draft(template, date(2000, 1, 1))
    kinds = await check_references(work, owner, draft.payee_id, [template.category_id])
    with in_template():
        ledger_rules.check_category_kinds(draft, kinds, user_id=owner.user_id)
    pairs = zip(draft.postings, draft.posting_fields, strict=True)
    own = [(p, f) for p, f in pairs if p.system_role is None]
    own_draft = replace(
        draft, postings=tuple(p for p, _ in own), posting_fields=tuple(f for _, f in own)
    )
    named = set(template.account_ids())
    # Locked as the ledger locks them (key order): a read that a concurrent archive waits on.
    accounts = await work.accounts.lock_for_ledger(owner, named)
    ledger_rules.check_postable(own_draft, accounts, user_id=owner.user_id, named=named)


class RecurringService:
    """Use cases of recurring transactions."""

    def __init__(self, uow: UnitOfWork, *, today: Today) -> None:
        self._uow = uow
        self._today = today

    async def create(
        self, owner: UserKey, template: Template, schedule: Schedule, *, caller: Caller
    ) -> RecurringTransaction:
        """Create an active recurring transaction; a retry with the same request_id returns
        the first one created. Raises InvalidArgument, NotFound (owner, account, category,
        payee) or FailedPrecondition (an archived account or one the service keeps)."""
        check_schedule(schedule)
        template_draft(template, schedule.start_date)
        key = RecurringTransactionKey(owner.user_id, str(uuid.uuid4()))

        async def work(w: Work) -> RecurringTransaction:
            request = (template, schedule)
            earlier = await w.claim(owner, "create_recurring", request, result_id=key.recurring_id)
            if earlier is not None:
                return await w.recurring.get(RecurringTransactionKey(owner.user_id, earlier))
            if not await w.users.exists(owner):
                raise NotFound(owner)
            await _check_template(w, owner, template)
            created = await w.recurring.insert(
                key, template=template, schedule=schedule, due_date=_due_date(schedule, None)
            )
            await w.record(key, "create", before=None, after=created)
            return created

        return await self._uow.run(work, caller=caller, user=owner)

    async def get(self, key: RecurringTransactionKey, *, caller: Caller) -> RecurringTransaction:
        """The recurring transaction of `key`. Raises NotFound."""
        return await self._uow.read(
            lambda w: w.recurring.get(key), caller=caller, user=owner_of(key)
        )

    async def list(
        self, owner: UserKey, query: ListQuery, *, caller: Caller
    ) -> Page[RecurringTransaction]:
        """One page of the owner's recurring transactions. Raises NotFound for an unknown
        owner."""

        async def work(w: Work) -> Page[RecurringTransaction]:
            return await owned_page(w, owner, await w.recurring.list_owned(owner, query))

        return await self._uow.read(work, caller=caller, user=owner)

    async def update(
        self,
        key: RecurringTransactionKey,
        changes: RecurringChanges,
        *,
        expected_revision: int | None,
        caller: Caller,
    ) -> RecurringTransaction:
        """Replace the template or schedule for the occurrences not yet done with. Raises
        NotFound, EtagMismatch, InvalidArgument or FailedPrecondition."""
        if changes.schedule is not None:
            check_schedule(changes.schedule)

        async def work(w: Work) -> RecurringTransaction:
            before = await w.recurring.get(key, lock=True)
            check_revision(key, before.revision, expected_revision)
            template = changes.template or before.template
            schedule = changes.schedule or before.schedule
            template_draft(template, schedule.start_date)
            if changes.template is not None:
                await _check_template(w, owner_of(key), template)
            after = await w.recurring.change(
                key,
                template=changes.template,
                schedule=changes.schedule,
                due_date=_due_date(schedule, before.handled_through),
            )
            await w.record(key, "update", before=before, after=after)
            return after

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def delete(
        self, key: RecurringTransactionKey, *, expected_revision: int | None, caller: Caller
    ) -> None:
        """Delete a recurring transaction; the transactions it recorded stay. Raises NotFound
        or EtagMismatch."""

        async def work(w: Work) -> None:
            before = await w.recurring.get(key, lock=True)
            check_revision(key, before.revision, expected_revision)
            await w.recurring.delete(key)
            await w.record(key, "delete", before=before, after=None)

        await self._uow.run(work, caller=caller, user=owner_of(key))

    async def pause(
        self, key: RecurringTransactionKey, *, expected_revision: int | None, caller: Caller
    ) -> RecurringTransaction:
        """Stop recording occurrences until resumed. Raises NotFound or EtagMismatch."""
        return await self._set_state(key, RecurringState.PAUSED, expected_revision, caller)

    async def resume(
        self, key: RecurringTransactionKey, *, expected_revision: int | None, caller: Caller
    ) -> RecurringTransaction:
        """Record occurrences again from today on; those booked before today while paused
        are not recorded. Raises NotFound or EtagMismatch."""
        return await self._set_state(key, RecurringState.ACTIVE, expected_revision, caller)

    async def _set_state(
        self,
        key: RecurringTransactionKey,
        state: RecurringState,
        expected_revision: int | None,
        caller: Caller,
    ) -> RecurringTransaction:
        today = self._today()

        async def work(w: Work) -> RecurringTransaction:
            before = await w.recurring.get(key, lock=True)
            check_revision(key, before.revision, expected_revision)
            if before.state is state:
                return before
            handled = before.handled_through
            if state is RecurringState.ACTIVE:
                handled = resumed_through(before.schedule, handled, today)
            after = await w.recurring.change(
                key,
                state=state,
                handled_through=handled,
                due_date=_due_date(before.schedule, handled),
            )
            action = "pause" if state is RecurringState.PAUSED else "resume"
            await w.record(key, action, before=before, after=after)
            return after

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def skip(
        self,
        key: RecurringTransactionKey,
        scheduled_date: date,
        *,
        expected_revision: int | None,
        caller: Caller,
    ) -> RecurringTransaction:
        """Skip the occurrence scheduled on `scheduled_date`. Raises NotFound, EtagMismatch,
        InvalidArgument (no occurrence that day) or FailedPrecondition (done with already)."""

        async def work(w: Work) -> RecurringTransaction:
            request = (key, scheduled_date, expected_revision)
            earlier = await w.claim(
                owner_of(key), "skip_occurrence", request, result_id=key.recurring_id
            )
            before = await w.recurring.get(key, lock=True)
            if earlier is not None:
                return before
            check_revision(key, before.revision, expected_revision)
            done = await w.recurring.occurrence(key, scheduled_date)
            check_skippable(before, scheduled_date, done)
            occurrence = occurrence_on(before.schedule, scheduled_date)
            assert occurrence is not None  # check_skippable found it
            skipped = OccurrenceRecord(
                scheduled_date, occurrence.booking_date, OccurrenceStatus.SKIPPED
            )
            await w.recurring.add_occurrence(key, skipped)
            handled = before.handled_through
            if occurrence == before.next_occurrence:
                handled = scheduled_date  # the next one: done with at once
            after = await w.recurring.change(
                key, handled_through=handled, due_date=_due_date(before.schedule, handled)
            )
            await w.record(key, "skip", before=before, after=after)
            return after

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def occurrences(
        self, key: RecurringTransactionKey, first: date, last: date, *, caller: Caller
    ) -> Sequence[OccurrenceRecord]:
        """The occurrences booked from `first` to `last`: those done with as they were, the
        rest as scheduled. Raises NotFound."""

        async def work(w: Work) -> list[OccurrenceRecord]:
            recurring = await w.recurring.get(key)
            done = {o.scheduled_date: o for o in await w.recurring.occurrences(key, first, last)}
            handled = recurring.handled_through
            for o in booked_between(recurring.schedule, first, last):
                if o.scheduled_date not in done and (handled is None or o.scheduled_date > handled):
                    done[o.scheduled_date] = OccurrenceRecord(
                        o.scheduled_date, o.booking_date, OccurrenceStatus.SCHEDULED
                    )
            in_range = (o for o in done.values() if first <= o.booking_date <= last)
            return sorted(in_range, key=lambda o: o.scheduled_date)

        return await self._uow.read(work, caller=caller, user=owner_of(key))
