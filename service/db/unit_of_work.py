"""The unit of work: one connection, one database transaction, and the repositories bound to
it; committed when the work ends, rolled back when it raises or is cancelled.

`UnitOfWork.run` is how every writing service runs: it retries the whole work after a
serialization failure, a deadlock, or a connection lost before COMMIT was sent (nothing was
committed then), and answers Unavailable when the outcome of a COMMIT is unknown, so that the
caller retries with the same request_id.
"""

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import TypeVar

import asyncpg

from service.db.connections import (
    RETRYABLE_TRANSACTION_ERRORS,
    IsolationLevel,
    transaction,
)
from service.db.database import Database
from service.db.deadlines import statement_timeout_ms
from service.domain.access import Role, check_access
from service.domain.audit import Caller, Presenter, plain_picture
from service.domain.errors import Aborted, PermissionDenied, Unavailable
from service.domain.keys import ResourceKey, UserKey
from service.repositories.accounts import AccountRepository
from service.repositories.audit import AuditRepository
from service.repositories.balances import BalanceRepository
from service.repositories.budget_spending import BudgetSpendingRepository
from service.repositories.budgets import BudgetRepository
from service.repositories.categories import CategoryRepository
from service.repositories.exchange_rates import ExchangeRateRepository
from service.repositories.idempotency import IdempotencyRepository, fingerprint
from service.repositories.members import MemberRepository
from service.repositories.payees import PayeeRepository
from service.repositories.recurring import RecurringRepository
from service.repositories.reports import ReportRepository
from service.repositories.rules import RuleRepository
from service.repositories.statements import StatementRepository
from service.repositories.transactions import TransactionRepository
from service.repositories.users import UserRepository

log = logging.getLogger(__name__)

T = TypeVar("T")

# The value of finance.user_id for work that spans users (listing a principal's users).
ALL_USERS = "*"

# Every unit of work starts here: it becomes the tenant role, whose rows row-level security
# limits to the user in finance.user_id (migration 0011), holds the statements after this one
# to the RPC's deadline (statement_timeout, so that PostgreSQL stops them even when the
# cancellation at the deadline never reaches it), and reads the caller's role on that user, in
# one round trip. The grant is read as the connection's own role: the statement is planned
# before the role changes.
_ENTER = """
SELECT set_config('role', 'finance_tracker_tenant', true),
       set_config('finance.user_id', $1, true),
       set_config('statement_timeout', $3, true),
       (SELECT role FROM members WHERE user_id = $1 AND principal = $2) AS granted
"""


async def _enter(
    connection: asyncpg.Connection,
    caller: Caller,
    user: UserKey | None,
    need: Role | None,
    *,
    limit: float,
) -> None:
    """Scope the connection's transaction to `user` (every user when None), hold its
    statements to the RPC's deadline and to `limit` seconds, and check that the
    caller may do what takes `need` there (no check when None)."""
    row = await connection.fetchrow(
        _ENTER,
        ALL_USERS if user is None else user.user_id,
        caller.principal.subject,
        str(statement_timeout_ms(limit)),
    )
    assert row is not None
    if need is None:
        return
    if user is None:
        # Work over every user's books that needs a role is an administrator's only.
        if not caller.principal.admin:
            raise PermissionDenied("only an administrator may do this")
        return
    granted = None if row["granted"] is None else Role[row["granted"]]
    check_access(caller.principal, user, granted, need)


class Work:
    """The repositories of one unit of work, bound to its connection, and its caller."""

    def __init__(
        self,
        connection: asyncpg.Connection,
        caller: Caller,
        *,
        present: Presenter = plain_picture,
    ) -> None:
        self._connection = connection
        self.caller = caller
        self._present = present

    @cached_property
    def users(self) -> UserRepository:
        """Users."""
        return UserRepository(self._connection)

    @cached_property
    def members(self) -> MemberRepository:
        """Who the users' books are shared with."""
        return MemberRepository(self._connection)

    @cached_property
    def accounts(self) -> AccountRepository:
        """Accounts and their running balances."""
        return AccountRepository(self._connection)

    @cached_property
    def categories(self) -> CategoryRepository:
        """Categories."""
        return CategoryRepository(self._connection)

    @cached_property
    def payees(self) -> PayeeRepository:
        """Payees."""
        return PayeeRepository(self._connection)

    @cached_property
    def rules(self) -> RuleRepository:
        """Rules that file transactions."""
        return RuleRepository(self._connection)

    @cached_property
    def transactions(self) -> TransactionRepository:
        """Transactions and their postings."""
        return TransactionRepository(self._connection)

    @cached_property
    def recurring(self) -> RecurringRepository:
        """Recurring transactions and their occurrences."""
        return RecurringRepository(self._connection)

    @cached_property
    def statements(self) -> StatementRepository:
        """Statements and the postings they reconcile."""
        return StatementRepository(self._connection)

    @cached_property
    def balances(self) -> BalanceRepository:
        """Balances computed from postings."""
        return BalanceRepository(self._connection)

    @cached_property
    def exchange_rates(self) -> ExchangeRateRepository:
        """Exchange rates."""
        return ExchangeRateRepository(self._connection)

    @cached_property
    def budgets(self) -> BudgetRepository:
        """Budgets with their lines and assignments."""
        return BudgetRepository(self._connection)

    @cached_property
    def budget_spending(self) -> BudgetSpendingRepository:
        """What budgets count, summed from postings."""
        return BudgetSpendingRepository(self._connection)

    @cached_property
    def reports(self) -> ReportRepository:
        """Reports computed from postings."""
        return ReportRepository(self._connection)

    @cached_property
    def audit(self) -> AuditRepository:
        """The audit trail."""
        return AuditRepository(self._connection)

    async def claim(
        self, owner: UserKey, method: str, *request: object, result_id: str
    ) -> str | None:
        """Claim the caller's request_id for this request of `method` (what it asked for is
        `request`), within this unit of work: the claim commits with the change, or not at
        all. One request_id names one request of the owner, whatever the method.

        Returns None when newly claimed, or without a request_id; the result id of the earlier
        identical request otherwise. Raises InvalidArgument for a request_id used before by
        another request, NotFound for an unknown owner."""
        if self.caller.request_id is None:
            return None
        return await IdempotencyRepository(self._connection).claim(
            owner,
            request_id=self.caller.request_id,
            method=method,
            request_hash=fingerprint(*request),
            result_id=result_id,
        )

    async def record(
        self, subject: ResourceKey, action: str, *, before: object | None, after: object | None
    ) -> None:
        """Add the change of `subject` to the audit trail, in this unit of work, as made by its
        caller, with the resource as it was `before` and `after` (None where it was not)."""
        await self.audit.record(
            subject,
            action,
            caller=self.caller,
            before=None if before is None else self._present(before),
            after=None if after is None else self._present(after),
        )


class UnitOfWork:
    """Runs units of work over the database: the one way services reach repositories."""

    def __init__(
        self, database: Database, *, attempts: int = 8, present: Presenter = plain_picture
    ) -> None:
        self._database = database
        # The longest one statement may run, when the RPC's deadline is further or unset.
        self._statement_limit = database.statement_timeout_seconds
        self._attempts = attempts
        self._present = present
        # How often work (a write or a read) ran again, by the error that made it, as the
        # metrics report it: deadlocks here would mean locks taken out of order, which the
        # tests watch for.
        self.retries: Counter[str] = Counter()

    async def read(
        self,
        work: Callable[[Work], Awaitable[T]],
        *,
        caller: Caller,
        user: UserKey | None,
        need: Role | None = Role.VIEWER,
    ) -> T:
        """Run reads of `user`'s books (every user's when None) in a read-only transaction,
        once the caller is found to hold `need` there (see `run`). Runs again after a lost
        connection, which a read can always do. Raises NotFound or PermissionDenied for a
        caller without the role, Unavailable when the database stays unreachable."""
        for attempt in range(1, self._attempts + 1):
            try:
                async with (
                    self._database.connection() as connection,
                    transaction(connection, readonly=True),
                ):
                    await _enter(connection, caller, user, need, limit=self._statement_limit)
                    return await work(Work(connection, caller))
            except Unavailable as error:
                if attempt == self._attempts:
                    raise
                log.info("retrying a read after the connection was lost (attempt %d)", attempt)
                self.retries[type(error).__name__] += 1
            await _pause(attempt)
        raise AssertionError("unreachable")

    async def run(
        self,
        work: Callable[[Work], Awaitable[T]],
        *,
        caller: Caller,
        user: UserKey | None,
        need: Role | None = Role.EDITOR,
        isolation: IsolationLevel | None = None,
        readonly: bool = False,
    ) -> T:
        """Run `work` on `user`'s books (every user's when None) in one database transaction
        and commit it; run it again from the start after a conflict or a connection lost
        before COMMIT, after a short random pause so that contenders part.

        The caller must hold `need` on `user` (any role when None, for work that checks its
        own): the transaction sees only that user's rows (row-level security), and the role
        is read in it, so a grant revoked meanwhile is not used after its revocation commits.

        Raises NotFound for a caller without a grant on `user`, PermissionDenied for one whose
        role is too low, Aborted when conflicts persist, Unavailable when the database stays
        unreachable or the outcome of the COMMIT is unknown.
        """
        for attempt in range(1, self._attempts + 1):
            try:
                async with (
                    self._database.connection() as connection,
                    transaction(connection, isolation=isolation, readonly=readonly),
                ):
                    await _enter(connection, caller, user, need, limit=self._statement_limit)
                    return await work(Work(connection, caller, present=self._present))
            except RETRYABLE_TRANSACTION_ERRORS as error:
                # Nothing of it was committed: a conflict the database resolved by rolling it
                # back, or a connection lost before COMMIT was sent. A COMMIT of unknown
                # outcome (CommitOutcomeUnknown) is not retried here: the caller retries it,
                # with the same request_id.
                if attempt == self._attempts:
                    if isinstance(error, Unavailable):
                        raise
                    raise Aborted("the request kept conflicting with others; retry it") from error
                log.info("running again after %s (attempt %d)", type(error).__name__, attempt)
                self.retries[type(error).__name__] += 1
            await _pause(attempt)
        raise AssertionError("unreachable")


async def _pause(attempt: int) -> None:
    """A random pause growing with the attempt, so that contenders part (about 1.3 s in all
    over eight attempts, which also rides out a quick database restart)."""
    await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311
