"""Time each ReportService report of the big user over ten years against psql running the very
SQL the service sends for it, in the same run on the same database.

    uv run python -m bench.report_timing [--scale 1.0] [--repeat 5]

Each report's statements are recorded by running the servicer over a Database that notes what
its repositories send (`bench/recording.py`), then sent by psql as prepared statements
in one session (`PREPARE` once, `EXECUTE` with the recorded arguments, as asyncpg does),
timed by psql's own `\\timing`. The service is timed from a gRPC client against a server
process (`finance-tracker serve`). Service and psql runs alternate, one at a time, so that both
see the same machine; each figure is the median of `--repeat` runs after one discarded warm-up
run; ratio = service / psql.
"""

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import report_service_pb2 as rpb
from finance.v1 import report_service_pb2_grpc as rpb_grpc
from google.protobuf.message import Message

from bench import database
from bench.baseline import as_text, servicer_context
from bench.dataset import HISTORY_DAYS, build
from bench.recording import BEGIN, Statement, record
from bench.servers import running_servers
from service.api.callers import acting_as
from service.api.dates import to_proto_date
from service.api.report_servicer import ReportServicer
from service.db.database import Database
from service.db.unit_of_work import UnitOfWork
from service.domain.access import ANONYMOUS
from service.domain.clock import utc_today
from service.services.reports import ReportService

_PLACEHOLDER = re.compile(r"\$(\d+)\b")
_TIME = re.compile(r"^Time: ([\d.]+) ms")
_DONE = "-- report done --"
DEADLINE_SECONDS = 600.0


@dataclass(frozen=True)
class Report:
    """One report call: its method and request."""

    method: str
    request: Message


@dataclass(frozen=True)
class Timing:
    """Median milliseconds of a report through the service and through psql."""

    method: str
    service_ms: float
    psql_ms: float
    statements: int

    @property
    def ratio(self) -> float:
        """Service over psql."""
        return self.service_ms / self.psql_ms


def reports(user_id: str) -> list[Report]:
    """Every report of the big user over its ten years of history, no filter."""
    end = utc_today()
    period: dict[str, Any] = {
        "parent": f"users/{user_id}",
        "start_date": to_proto_date(end - timedelta(days=HISTORY_DAYS)),
        "end_date": to_proto_date(end),
    }
    return [
        Report(
            "GetCategoryReport",
            rpb.GetCategoryReportRequest(kind=cpb.Category.KIND_EXPENSE, **period),
        ),
        Report("GetIncomeExpenseReport", rpb.GetIncomeExpenseReportRequest(**period)),
        Report("GetNetWorthReport", rpb.GetNetWorthReportRequest(currency_code="EUR", **period)),
        Report("GetCashFlowReport", rpb.GetCashFlowReportRequest(**period)),
        Report("GetTopPayeesReport", rpb.GetTopPayeesReportRequest(**period)),
    ]


async def statements_of(db: Database, report: Report) -> list[Statement]:
    """The statements the service runs for `report`."""

    async def rpc(recording: Database) -> object:
        servicer = ReportServicer(ReportService(UnitOfWork(recording)))
        method: Callable[..., Any] = getattr(servicer, report.method)
        # As a server without authentication runs it (the bench server's setting).
        with acting_as(ANONYMOUS):
            return await method(report.request, servicer_context())

    return await record(db, rpc)


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    text = value if isinstance(value, str) else as_text(value)
    return "'" + text.replace("'", "''") + "'"


def _prepare_and_run(statements: list[Statement]) -> tuple[list[str], str]:
    """PREPARE lines for the statements with arguments, and the text of one run of them all."""
    prepares, run = [], []
    for number, statement in enumerate(statements):
        if statement == BEGIN:
            run.append("BEGIN READ ONLY;")
        elif statement.args:
            prepares.append(f"PREPARE s{number} AS {statement.sql.strip().rstrip(';')};")
            run.append(f"EXECUTE s{number}({', '.join(map(_literal, statement.args))});")
        else:
            run.append(statement.sql.strip().rstrip(";") + ";")
    return prepares, "\n".join(run)


class Psql:
    """One psql session (as one pooled connection of the service) that runs a report's
    statements on demand and says how long PostgreSQL took for them (`\\timing`)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @classmethod
    async def start(cls, url: str) -> "Psql":
        """A psql session on `url` whose query output is discarded."""
        process = await asyncio.create_subprocess_exec(
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        session = cls(process)
        await session.run("\\timing on\n\\o /dev/null")
        return session

    async def run(self, text: str) -> float:
        """Send `text`; the milliseconds psql's timing reports for it, summed."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(f"{text}\n\\echo {_DONE}\n".encode())
        await self._process.stdin.drain()
        total = 0.0
        while (line := (await self._process.stdout.readline()).decode()) != f"{_DONE}\n":
            if not line:
                raise SystemExit("bench: psql stopped")
            found = _TIME.match(line)
            total += float(found[1]) if found else 0.0
        return total

    async def close(self) -> None:
        """End the session."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        await self._process.wait()


async def compare(
    address: str, url: str, report: Report, statements: list[Statement], repeat: int
) -> Timing:
    """Median milliseconds of the report through the service (a gRPC call) and through psql
    (its statements), runs alternating, after one discarded run of each."""
    prepares, run = _prepare_and_run(statements)
    psql = await Psql.start(url)
    try:
        await psql.run("\n".join(prepares))
        async with grpc.aio.insecure_channel(address) as channel:
            call = getattr(rpb_grpc.ReportServiceStub(channel), report.method)
            service, direct = [], []
            for _ in range(repeat + 1):
                started = time.perf_counter()
                await call(report.request, timeout=DEADLINE_SECONDS)
                service.append((time.perf_counter() - started) * 1000)
                direct.append(await psql.run(run))
    finally:
        await psql.close()
    return Timing(
        report.method,
        statistics.median(service[1:]),
        statistics.median(direct[1:]),
        len(statements),
    )


def table(timings: list[Timing]) -> str:
    """The results as a Markdown table."""
    rows = [
        "| report | statements | service ms | psql ms | service / psql |",
        "|---|---:|---:|---:|---:|",
    ]
    for t in timings:
        rows.append(
            f"| {t.method} | {t.statements} | {t.service_ms:,.1f} | {t.psql_ms:,.1f} "
            f"| {t.ratio:.2f} |"
        )
    return "\n".join(rows)


async def _run(args: argparse.Namespace, workdir: Path) -> list[Timing]:
    url = database.server_url()
    database.check_local(url)
    async with database.fresh_database(url, keep=args.keep_database) as db_url:
        db = await database.open_pool(db_url)
        try:
            data = await build(db, scale=args.scale, writers=1)
            print(f"big user: {data.big_transactions:,} transactions over ten years")
            recorded = {r.method: await statements_of(db, r) for r in reports(data.big.user_id)}
        finally:
            await db.close()
        timings = []
        with running_servers(db_url, workers=1, pool_size=4, log_dir=workdir) as address:
            for report in reports(data.big.user_id):
                statements = recorded[report.method]
                timing = await compare(address, db_url, report, statements, args.repeat)
                print(
                    f"{timing.method}: service {timing.service_ms:.1f} ms,"
                    f" psql {timing.psql_ms:.1f} ms"
                )
                timings.append(timing)
    return timings


def main(argv: list[str] | None = None) -> None:
    """Entry point: python -m bench.report_timing."""
    parser = argparse.ArgumentParser(prog="python -m bench.report_timing", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="data set size (1.0: 1M)")
    parser.add_argument("--repeat", type=int, default=5, help="measured runs of each report")
    parser.add_argument("--keep-database", action="store_true", help="do not drop it at the end")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="finance-bench-") as workdir:
        timings = asyncio.run(_run(args, Path(workdir)))
    print("\n" + table(timings))
    worst = max(t.ratio for t in timings)
    print(f"\nworst ratio {worst:.2f} (target: at most 1.2); {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
