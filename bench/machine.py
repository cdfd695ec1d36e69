"""What the numbers were measured on: CPU, memory, PostgreSQL and the tools' versions."""

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import asyncpg

_PG_SETTINGS = (
    "shared_buffers",
    "max_connections",
    "synchronous_commit",
    "fsync",
    "wal_sync_method",
    "commit_delay",
    "jit",
)


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def _version(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip().splitlines()[0]


async def describe(database_url: str, *, h2load: str, pgbench: str) -> list[str]:
    """One line per fact about the machine and the software under test."""
    connection = await asyncpg.connect(database_url)
    try:
        version = await connection.fetchval("SELECT version()")
        settings = await connection.fetch(
            "SELECT name, current_setting(name) AS value FROM pg_settings"
            " WHERE name = ANY($1::text[]) ORDER BY name",
            list(_PG_SETTINGS),
        )
    finally:
        await connection.close()
    pg = ", ".join(f"{r['name']}={r['value']}" for r in settings)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"CPU: {os.cpu_count()} x {_cpu_model()}; memory {_memory_gib():.1f} GiB",
        f"PostgreSQL: {version}",
        f"PostgreSQL settings: {pg}",
        f"Python {platform.python_version()}, grpcio {metadata.version('grpcio')}, "
        f"asyncpg {metadata.version('asyncpg')}, uvloop {metadata.version('uvloop')}",
        f"Load generators: {_version([h2load, '--version'])}; {_version([pgbench, '--version'])}",
        f"Load average before the run (other work on the machine): {load}",
    ]
