"""The measurements: for each call and concurrency, h2load against the server, then pgbench
running the same SQL, each after a short discarded warm-up, with the checks that make the
h2load figures trustworthy (h2load does not read grpc-status)."""

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bench.baseline import Script
from bench.calls import Call, sample
from bench.loads import Measurement, h2load, pgbench
from bench.tools import Tools
from service.db.database import Database


@dataclass(frozen=True)
class Plan:
    """What to run: tools, targets, concurrencies and durations."""

    tools: Tools
    address: str
    database_url: str
    concurrencies: tuple[int, ...]
    seconds: int
    warmup: int
    workdir: Path


@dataclass
class Outcome:
    """All measurements, and anything that makes one of them untrustworthy."""

    measurements: list[Measurement] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def _transactions(database: Database) -> int:
    async with database.connection() as connection:
        count: int = await connection.fetchval("SELECT count(*) FROM transactions")
        return count


def _check_reads(call: Call, m: Measurement, sizes: list[int], outcome: Outcome) -> None:
    """Every answer was a whole response message: an error carries no message at all."""
    expected = m.completed * (5 + sizes[0])
    if m.data_bytes != expected:
        outcome.problems.append(
            f"{call.name} c={m.concurrency}: {m.data_bytes} response bytes, expected "
            f"{expected} ({m.completed} x {5 + sizes[0]}): some calls did not succeed"
        )


def _check_writes(name: str, m: Measurement, written: int, outcome: Outcome) -> None:
    """Rows written equal the calls that finished, plus at most one call per client that was
    in flight when the tool stopped (the server still commits it; the tool does not count it)."""
    line = f"{name} c={m.concurrency} {m.tool}: {m.completed} ok, {written} transactions written"
    print(f"  {line}")
    if not m.completed <= written <= m.completed + m.concurrency:
        outcome.problems.append(line)


async def _timed(
    plan: Plan, run: Callable[[int], Measurement], *, writes: bool, database: Database
) -> tuple[Measurement, int]:
    """A discarded warm-up, then the measured run; returns it with the rows it wrote."""
    if plan.warmup:
        await asyncio.to_thread(run, plan.warmup)
    before = await _transactions(database) if writes else 0
    measured = await asyncio.to_thread(run, plan.seconds)
    return measured, (await _transactions(database) - before) if writes else 0


def _record(
    m: Measurement, written: int, *, writes: bool, outcome: Outcome, tool_unit: str
) -> None:
    outcome.measurements.append(m)
    if m.failed:
        outcome.problems.append(f"{m.call} c={m.concurrency}: {m.failed} failed {tool_unit}")
    if writes:
        _check_writes(m.call, m, written, outcome)


def _grpc_load(plan: Plan, call: Call, c: int) -> Callable[[int], Measurement]:
    return partial(
        h2load,
        plan.tools.h2load,
        url=f"http://{plan.address}{call.path}",
        bodies=call.lanes,
        concurrency=c,
        workdir=plan.workdir,
        label=call.name,
    )


def _sql_load(
    plan: Plan, call: Call, c: int, scripts: list[Script]
) -> Callable[[int], Measurement]:
    return partial(
        pgbench,
        plan.tools.pgbench,
        database_url=plan.database_url,
        scripts=scripts,
        concurrency=c,
        workdir=plan.workdir,
        label=call.name,
    )


async def measure(
    plan: Plan, calls: list[Call], scripts: dict[str, list[Script]], database: Database
) -> Outcome:
    """Sample every call once, then load each at each concurrency with both tools."""
    outcome = Outcome()
    sizes = {call.name: await sample(plan.address, call) for call in calls}
    print("sampled each request once through a gRPC client: all OK")
    for call, c in itertools.product(calls, plan.concurrencies):
        print(f"{call.name}: c={c} h2load", flush=True)
        load = _grpc_load(plan, call, c)
        m, written = await _timed(plan, load, writes=call.writes, database=database)
        _record(m, written, writes=call.writes, outcome=outcome, tool_unit="requests")
        if not call.writes:
            _check_reads(call, m, sizes[call.name], outcome)
        if call.name in scripts:
            print(f"{call.name}: c={c} pgbench", flush=True)
            load = _sql_load(plan, call, c, scripts[call.name])
            m, written = await _timed(plan, load, writes=call.writes, database=database)
            _record(m, written, writes=call.writes, outcome=outcome, tool_unit="transactions")
    return outcome
