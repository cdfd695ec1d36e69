"""Benchmark finance-tracker end to end in one run: seed a fresh database, load the server
with h2load, run pgbench on the same SQL, and print the table, the ratios and the plans.

    uv run python -m bench.run [--scale 1.0] [--seconds 10] [--concurrency 8,16,32]
"""

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from bench import baseline, database, machine, report
from bench.calls import build_calls
from bench.dataset import Dataset, build, require_consistent
from bench.explain import page_plans
from bench.scenario import Outcome, Plan, measure
from bench.servers import running_servers
from bench.tools import Tools, ensure_tools
from service.db.database import Database


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="data set size (1.0: 1M)")
    parser.add_argument("--seconds", type=int, default=10, help="duration of each load")
    parser.add_argument("--warmup", type=int, default=1, help="discarded run before each")
    parser.add_argument(
        "--concurrency",
        type=lambda text: tuple(int(c) for c in text.split(",")),
        default=(8, 16, 32),
        help="comma-separated concurrencies (clients, one request in flight each)",
    )
    parser.add_argument("--workers", type=int, default=2, help="server processes on one port")
    parser.add_argument("--pool-size", type=int, default=10, help="asyncpg pool per worker")
    parser.add_argument("--lanes", type=int, default=8, help="users CreateTransaction writes to")
    parser.add_argument("--no-install", action="store_true", help="never apt-get the tools")
    parser.add_argument("--keep-database", action="store_true", help="do not drop it at the end")
    return parser.parse_args(argv)


async def _scripts(
    db: Database, calls_by_name: dict[str, tuple[bytes, ...]]
) -> dict[str, list[baseline.Script]]:
    """The pgbench scripts of each call but the no-op, one per lane, recorded from the
    servicers (recording CreateTransaction writes one transaction per lane)."""
    scripts = {
        "GetAccount": [await baseline.get_account_script(db, calls_by_name["GetAccount"][0])],
        "ListTransactions": [
            await baseline.list_transactions_script(db, calls_by_name["ListTransactions"][0])
        ],
        "CreateTransaction": [
            await baseline.create_transaction_script(db, body)
            for body in calls_by_name["CreateTransaction"]
        ],
    }
    for name, lanes in scripts.items():
        print(f"-- pgbench script of {name} (lane 1 of {len(lanes)})\n{lanes[0].text}")
    return scripts


async def _plans(db: Database, data: Dataset) -> list[str]:
    """EXPLAIN of the page query; exits if any plan scans the transactions table in full."""
    plans = await page_plans(db, data.big.user_id, deep=data.big_transactions // 2)
    text = [f"-- {p.title}\n{p.text}" for p in plans]
    print("\n\n".join(text))
    scanned = [p.title for p in plans if "transactions" in p.seq_scans]
    if scanned:
        raise SystemExit(f"bench: Seq Scan on transactions in: {', '.join(scanned)}")
    print("no plan scans transactions sequentially: the index serves both pages")
    return text


async def _run(args: argparse.Namespace, tools: Tools, workdir: Path) -> Outcome:
    url = database.server_url()
    database.check_local(url)
    async with database.fresh_database(url, keep=args.keep_database) as db_url:
        facts = await machine.describe(db_url, h2load=tools.h2load, pgbench=tools.pgbench)
        db = await database.open_pool(db_url)
        try:
            data = await build(db, scale=args.scale, writers=args.lanes)
            plans = await _plans(db, data)
            calls = build_calls(data.big, data.small[: args.lanes])
            scripts = await _scripts(db, {c.name: c.lanes for c in calls})
            with running_servers(
                db_url, workers=args.workers, pool_size=args.pool_size, log_dir=workdir
            ) as address:
                plan = Plan(
                    tools, address, db_url, args.concurrency, args.seconds, args.warmup, workdir
                )
                outcome = await measure(plan, calls, scripts, db)
            await require_consistent(db, "after the loads")
        finally:
            await db.close()
    _print_results(args, facts, outcome, plans)
    return outcome


def _print_results(
    args: argparse.Namespace, facts: list[str], outcome: Outcome, plans: list[str]
) -> None:
    print("\n## Machine\n" + "\n".join(f"- {f}" for f in facts))
    print(
        f"\n## Settings\n- scale {args.scale}, {args.seconds}s per load after a {args.warmup}s "
        f"warm-up, concurrency {','.join(map(str, args.concurrency))}, "
        f"{args.workers} server process(es) x pool {args.pool_size}, "
        f"CreateTransaction over {args.lanes} lanes; load average at the end: "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print("\n## Results\n" + report.table(outcome.measurements))
    print("\n## Targets\n" + "\n".join(report.targets(outcome.measurements)))
    print("\n## ListTransactions page query plans\n" + "\n\n".join(plans))
    if outcome.problems:
        print("\n## Problems\n" + "\n".join(f"- {p}" for p in outcome.problems))


def main(argv: list[str] | None = None) -> None:
    """Entry point: python -m bench.run."""
    args = _parse_args(argv)
    tools = ensure_tools(install=not args.no_install)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="finance-bench-") as workdir:
        outcome = asyncio.run(_run(args, tools, Path(workdir)))
    print(f"\nfinished in {time.perf_counter() - started:.0f}s")
    if outcome.problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
