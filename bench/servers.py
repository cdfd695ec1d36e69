"""The server under test: `finance-tracker serve` in N processes sharing one port.

gRPC's core sets SO_REUSEPORT on server sockets by default on Linux (`grpc.so_reuseport`
defaults to 1). The service turns it off unless FINANCE_TRACKER_REUSE_PORT is true, so that a
port in use is an error; the benchmark sets it to start several processes on one port, each
with a listening socket of its own among which the kernel spreads the connections.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing on this machine listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def listening_sockets(port: int) -> int:
    """How many sockets listen on `port` (one per server process under SO_REUSEPORT)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                count += 1
    return count


def _serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)  # type: ignore[attr-defined]
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _wait_ready(address: str, port: int, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a server process exited during start-up")
        if listening_sockets(port) >= len(processes) and _serving(address):
            return
        time.sleep(0.2)
    raise RuntimeError(f"servers did not become ready on {address}")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_servers(
    database_url: str, *, workers: int, pool_size: int, log_dir: Path
) -> Iterator[str]:
    """Start `workers` server processes on one free local port; yield host:port; SIGTERM them
    at the end. Their stderr goes to log_dir/server-N.log."""
    port = free_port()
    executable = Path(sys.executable).with_name("finance-tracker")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FINANCE_TRACKER_")},
        "FINANCE_TRACKER_DATABASE_URL": database_url,
        "FINANCE_TRACKER_HOST": HOST,
        "FINANCE_TRACKER_PORT": str(port),
        "FINANCE_TRACKER_REUSE_PORT": "true" if workers > 1 else "false",
        "FINANCE_TRACKER_LOG_LEVEL": "WARNING",
        "FINANCE_TRACKER_DB_POOL_MIN_SIZE": str(min(2, pool_size)),
        "FINANCE_TRACKER_DB_POOL_MAX_SIZE": str(pool_size),
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(workers):
            with (log_dir / f"server-{n}.log").open("wb") as log:
                processes.append(subprocess.Popen([str(executable), "serve"], env=env, stderr=log))
        address = f"{HOST}:{port}"
        _wait_ready(address, port, processes)
        yield address
    finally:
        _stop(processes)
