"""Property-based tests of reconciliation: random histories of an account's postings (amounts
to the cent, days around the statement date, cleared or not, pending or posted) against a
model of what a statement of that date must count, reconcile and release again."""

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.db.database import Database
from service.db.unit_of_work import UnitOfWork
from service.domain.access import ANONYMOUS
from service.domain.audit import Caller
from service.domain.keys import AccountKey, UserKey
from service.domain.ledger import ClearingStatus, PostingDraft, TransactionDraft
from service.domain.models import AccountType, Money, NewAccount, NewUser
from service.domain.statements import Reconciliation
from service.services.accounts import AccountService
from service.services.ledger import LedgerService
from service.services.statements import StatementService
from service.services.users import UserService
from tests.test_ledger_invariants import ledger_url  # noqa: F401 (a fixture)

CALLER = Caller(ANONYMOUS)
STATEMENT_DAY = date(2024, 1, 15)


@dataclass(frozen=True)
class Entry:
    """A posting of `amount` cents to the account, `days` from the statement date."""

    amount: int
    days: int
    cleared: bool
    pending: bool

    @property
    def counted(self) -> bool:
        """Whether a statement of STATEMENT_DAY confirms it."""
        return self.cleared and not self.pending and self.days <= 0


entries = st.lists(
    st.builds(
        Entry,
        amount=st.integers(-50_000, 50_000).filter(bool),
        days=st.integers(-2, 2),
        cleared=st.booleans(),
        pending=st.booleans(),
    ),
    max_size=8,
)


@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=entries, off_by=st.sampled_from([0, 0, 1, -1]))
def test_a_statement_reconciles_exactly_the_cleared_posted_postings_up_to_its_date(
    ledger_url,  # noqa: F811
    history,
    off_by,
):
    asyncio.run(_reconcile(ledger_url, history, off_by))


async def _reconcile(url: str, history: list[Entry], off_by: int) -> None:
    db = await Database.connect(url, min_size=1, max_size=2)
    try:
        uow = UnitOfWork(db)
        user = await UserService(uow).create(NewUser("Reconciling", ""), caller=CALLER)
        owner = UserKey(user.user_id)
        accounts = AccountService(uow, today=lambda: STATEMENT_DAY)
        mine, other = [
            await accounts.create(owner, NewAccount(n, AccountType.ASSET, "EUR"), caller=CALLER)
            for n in ("Mine", "Other")
        ]
        ledger = LedgerService(uow)
        recorded = [
            await ledger.record(owner, _draft(e, mine.account_id, other.account_id), caller=CALLER)
            for e in history
        ]
        expected = sum(e.amount for e in history if e.counted)
        statements = StatementService(uow)
        reconciliation = Reconciliation(
            AccountKey(user.user_id, mine.account_id),
            STATEMENT_DAY,
            Money(expected + off_by, "EUR"),
        )
        outcome = await statements.reconcile(reconciliation, caller=CALLER)
        assert outcome.figures.cleared_balance == expected
        assert outcome.figures.difference == off_by
        assert outcome.figures.posting_count == sum(e.counted for e in history)
        assert (outcome.statement is not None) is (off_by == 0)

        async def statuses() -> list[ClearingStatus]:
            found = [await ledger.get(t.key, caller=CALLER) for t in recorded]
            return [t.postings[0].clearing_status for t in found]

        created = [_status(e) for e in history]
        reconciled = [
            ClearingStatus.RECONCILED if e.counted and off_by == 0 else _status(e) for e in history
        ]
        assert await statuses() == reconciled
        if outcome.statement is not None:
            await statements.unreconcile(
                outcome.statement.key, expected_revision=None, caller=CALLER
            )
            assert await statuses() == created
    finally:
        await db.close()


def _status(entry: Entry) -> ClearingStatus:
    return ClearingStatus.CLEARED if entry.cleared else ClearingStatus.UNCLEARED


def _draft(entry: Entry, account_id: str, other_id: str) -> TransactionDraft:
    return TransactionDraft(
        booking_date=STATEMENT_DAY + timedelta(days=entry.days),
        postings=(
            PostingDraft(account_id, entry.amount, "EUR", clearing_status=_status(entry)),
            PostingDraft(other_id, -entry.amount, "EUR"),
        ),
        pending=entry.pending,
    )
