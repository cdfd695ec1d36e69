"""The data set: one big user with a long history, and a few hundred small users."""

import time
from dataclasses import dataclass

from bench.bulk import seed_history, settle
from bench.seed import SeededUser, seed_users
from service.db.database import Database
from service.db.unit_of_work import UnitOfWork
from service.services.ledger import LedgerService

BIG_TRANSACTIONS = 1_000_000
SMALL_USERS = 300
SMALL_USER_TRANSACTIONS = 20
HISTORY_DAYS = 10 * 365


@dataclass(frozen=True)
class Dataset:
    """Who the loads read and write: the big user, and the small users."""

    big: SeededUser
    small: list[SeededUser]
    big_transactions: int


async def require_consistent(database: Database, when: str) -> None:
    """LedgerService.verify() must find nothing: every balance equals its postings, every
    transaction and every user's books sum to zero."""
    started = time.perf_counter()
    found = await LedgerService(UnitOfWork(database)).verify()
    if found:
        shown = "\n".join(f"  {d.subject}: {d.description}" for d in found[:20])
        raise SystemExit(f"bench: {len(found)} ledger discrepancies {when}:\n{shown}")
    print(f"ledger verified {when}: no discrepancies ({time.perf_counter() - started:.0f}s)")


async def build(database: Database, *, scale: float, writers: int) -> Dataset:
    """Seed `scale` x (1,000,000 transactions of the big user + 300 small users of 20
    transactions each), vacuum, and check the ledger adds up."""
    big_count = max(1000, round(BIG_TRANSACTIONS * scale))
    small_count = max(writers, round(SMALL_USERS * scale))
    started = time.perf_counter()
    print(f"seeding {small_count + 1} users through the service's repositories")
    users = await seed_users(
        database,
        ["bench-big", *(f"bench-u{i:04d}" for i in range(small_count))],
        transactions=SMALL_USER_TRANSACTIONS,
    )
    print(f"seeding the big user's history with generate_series ({big_count:,} transactions)")
    await seed_history(database, users[0], big_count, days=HISTORY_DAYS)
    await settle(database)
    print(f"seeded in {time.perf_counter() - started:.0f}s")
    await require_consistent(database, "after seeding")
    return Dataset(users[0], users[1:], big_count)
