"""Recurring transactions and the occurrences done with."""

from datetime import date

from service.domain.keys import RecurringTransactionKey, UserKey
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.recurring import (
    OccurrenceRecord,
    RecurringState,
    RecurringTransaction,
    Template,
)
from service.domain.schedules import Schedule
from service.repositories.querying import Field, Kind, Listing
from service.repositories.recurring_rows import (
    SCHEDULE_COLUMNS,
    TEMPLATE_COLUMNS,
    assignments,
    occurrence_from_row,
    recurring_from_row,
    schedule_values,
    template_values,
)
from service.repositories.rows import RowRepository, Table

_COLUMNS = (
    f"user_id, recurring_id, {TEMPLATE_COLUMNS}, {SCHEDULE_COLUMNS}, state, handled_through,"
    " revision, create_time, update_time"
)

_INSERT = f"""
INSERT INTO recurring_transactions (user_id, recurring_id, {TEMPLATE_COLUMNS},
                                    {SCHEDULE_COLUMNS}, state, due_date)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21, 'active', $22)
RETURNING {_COLUMNS}
"""

# Due work across users, oldest first; rows another scheduler holds are left to it.
_DUE = """
SELECT user_id, recurring_id FROM recurring_transactions
WHERE state = 'active' AND due_date <= $1
ORDER BY due_date, user_id, recurring_id
LIMIT $2
FOR UPDATE SKIP LOCKED
"""

# One due recurring transaction, locked; nothing when another scheduler holds it or it is
# no longer due (re-read after a wait, as READ COMMITTED does).
_LOCK_DUE = f"""
SELECT {_COLUMNS} FROM recurring_transactions
WHERE user_id = $1 AND recurring_id = $2 AND state = 'active' AND due_date <= $3
FOR UPDATE SKIP LOCKED
"""

_OCCURRENCE_COLUMNS = "scheduled_date, booking_date, status, transaction_id, failure"

_INSERT_OCCURRENCE = f"""
INSERT INTO recurring_occurrences (user_id, recurring_id, {_OCCURRENCE_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

_OCCURRENCE = f"""
SELECT {_OCCURRENCE_COLUMNS} FROM recurring_occurrences
WHERE user_id = $1 AND recurring_id = $2 AND scheduled_date = $3
"""

# Occurrences done with that were scheduled or booked in a range.
_OCCURRENCES = f"""
SELECT {_OCCURRENCE_COLUMNS} FROM recurring_occurrences
WHERE user_id = $1 AND recurring_id = $2
  AND (booking_date BETWEEN $3 AND $4 OR scheduled_date BETWEEN $3 AND $4)
ORDER BY scheduled_date
"""


RECURRING = Table(
    name="recurring_transactions",
    columns=_COLUMNS,
    key_columns=("user_id", "recurring_id"),
    listing=Listing(
        fields={
            "state": Field(
                "state", Kind.ENUM, enum_values={f"STATE_{s.name}": s.value for s in RecurringState}
            ),
            "description": Field("description", Kind.TEXT),
            "next_booking_date": Field("due_date", Kind.DATE),
            "create_time": Field("create_time", Kind.TIMESTAMP),
            "update_time": Field("update_time", Kind.TIMESTAMP),
        },
        id_column="recurring_id",
        default_order=(OrderKey("create_time"),),
    ),
    from_row=recurring_from_row,
)


class RecurringRepository(RowRepository[RecurringTransaction, RecurringTransactionKey]):
    """Reads and writes recurring transactions and their occurrences."""

    table = RECURRING

    async def insert(
        self,
        key: RecurringTransactionKey,
        *,
        template: Template,
        schedule: Schedule,
        due_date: date | None,
    ) -> RecurringTransaction:
        """Insert an active recurring transaction. Raises NotFound for an unknown owner."""
        return await self._insert_owned(
            _INSERT,
            UserKey(key.user_id),
            key.recurring_id,
            *template_values(template),
            *schedule_values(schedule),
            due_date,
        )

    async def list_owned(self, owner: UserKey, query: ListQuery) -> Page[RecurringTransaction]:
        """One page of the owner's recurring transactions."""
        return await self.list(query, scope={"user_id": owner.user_id})

    async def change(
        self,
        key: RecurringTransactionKey,
        *,
        due_date: date | None,
        template: Template | None = None,
        schedule: Schedule | None = None,
        state: RecurringState | None = None,
        handled_through: date | None = None,
    ) -> RecurringTransaction:
        """Set what is given (and always the due date), with a new revision."""
        values: dict[str, object] = {"due_date": due_date}
        if template is not None:
            values |= assignments(TEMPLATE_COLUMNS, template_values(template))
        if schedule is not None:
            values |= assignments(SCHEDULE_COLUMNS, schedule_values(schedule))
        if state is not None:
            values["state"] = state.value
        if handled_through is not None:
            values["handled_through"] = handled_through
        return await self.update(key, values)

    async def due(self, today: date, *, limit: int) -> list[RecurringTransactionKey]:
        """Up to `limit` active recurring transactions with an occurrence booked by `today`,
        of every user, leaving out those another scheduler holds."""
        rows = await self._connection.fetch(_DUE, today, limit)
        return [RecurringTransactionKey(r["user_id"], r["recurring_id"]) for r in rows]

    async def lock_due(
        self, key: RecurringTransactionKey, today: date
    ) -> RecurringTransaction | None:
        """The recurring transaction, locked, if it is active with an occurrence booked by
        `today`; None otherwise, or when another scheduler holds it."""
        row = await self._connection.fetchrow(_LOCK_DUE, key.user_id, key.recurring_id, today)
        return None if row is None else recurring_from_row(row)

    async def occurrence(
        self, key: RecurringTransactionKey, scheduled_date: date
    ) -> OccurrenceRecord | None:
        """The occurrence scheduled on `scheduled_date`, if it is done with."""
        row = await self._connection.fetchrow(
            _OCCURRENCE, key.user_id, key.recurring_id, scheduled_date
        )
        return None if row is None else occurrence_from_row(row)

    async def occurrences(
        self, key: RecurringTransactionKey, first: date, last: date
    ) -> list[OccurrenceRecord]:
        """The occurrences done with that were scheduled or booked from `first` to `last`."""
        rows = await self._connection.fetch(
            _OCCURRENCES, key.user_id, key.recurring_id, first, last
        )
        return [occurrence_from_row(r) for r in rows]

    async def add_occurrence(self, key: RecurringTransactionKey, done: OccurrenceRecord) -> None:
        """Keep an occurrence as done with. Its key (the user, the recurring transaction and
        the scheduled date) makes a second record of it fail, rolling its transaction back."""
        await self._connection.execute(
            _INSERT_OCCURRENCE,
            key.user_id,
            key.recurring_id,
            done.scheduled_date,
            done.booking_date,
            done.status.value,
            done.transaction_id,
            done.failure,
        )
