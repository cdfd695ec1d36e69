"""The `finance-tracker` command: serve, migrate, verify the ledger, or check a server's health."""

import argparse
import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from service.logs import configure_logging
from service.settings import ENV_PREFIX, Settings

if TYPE_CHECKING:
    from service.repositories.balances import Discrepancy

log = logging.getLogger(__name__)

T = TypeVar("T")


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "\n".join(f"  {_problem(e)}" for e in error.errors())
        sys.exit(f"finance-tracker: invalid configuration:\n{problems}")


def _problem(error: ErrorDetails) -> str:
    if not error["loc"]:
        # A check across settings, whose message names the variables itself.
        return error["msg"].removeprefix("Value error, ")
    variable = ENV_PREFIX + "_".join(str(p) for p in error["loc"]).upper()
    if error["type"] == "extra_forbidden":
        return f"{variable}: is not a setting of finance-tracker (a typo in .env?)"
    return f"{variable}: {error['msg']}"


def _health(address: str, timeout: float) -> int:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(address) as channel:
        try:
            stub = health_pb2_grpc.HealthStub(channel)
            # The stub sets Check in __init__; types-grpcio-health-checking does not declare it.
            response = stub.Check(  # type: ignore[attr-defined]
                health_pb2.HealthCheckRequest(), timeout=timeout
            )
        except grpc.RpcError as error:
            print(f"{address}: {error.code().name}", file=sys.stderr)  # noqa: T201
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    print(f"{address}: {status}")  # noqa: T201
    return 0 if response.status == health_pb2.HealthCheckResponse.SERVING else 1


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    # The embedded PostgreSQL is started and stopped through subprocesses; gRPC's fork
    # handlers are of no use to them and log a warning at each fork.
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    parser = argparse.ArgumentParser(prog="finance-tracker", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the gRPC server (applies pending migrations first)")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    commands.add_parser(
        "verify", help="recompute every balance from the postings; exit 1 on any difference"
    )
    check = commands.add_parser("health", help="ask a running server whether it is SERVING")
    check.add_argument(
        "--address", help=f"host:port to ask; default 127.0.0.1 and {ENV_PREFIX}PORT"
    )
    check.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args(argv)

    if args.command == "health":
        sys.exit(_health(args.address or _local_address(), args.timeout))
    settings = _load_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    from service import server

    if args.command == "serve":
        _start(args.command, server.serve(settings))
    elif args.command == "migrate":
        _start(args.command, server.migrate(settings))
    else:
        sys.exit(_report(_start(args.command, server.verify(settings))))


def _report(discrepancies: "list[Discrepancy]") -> int:
    """Print what verify found; the exit status is 1 if anything does not add up."""
    from service.api.names import resource_name

    for found in discrepancies:
        print(f"{resource_name(found.subject)}: {found.description}")  # noqa: T201
    print(f"{len(discrepancies)} discrepancies", file=sys.stderr)  # noqa: T201
    return 1 if discrepancies else 0


def _local_address() -> str:
    """The address of a server run with this configuration, on this host."""
    port = _load_settings().port
    if port == 0:
        sys.exit(f"finance-tracker: {ENV_PREFIX}PORT is 0 (any free port): pass --address")
    return f"127.0.0.1:{port}"


def _start(command: str, main: Coroutine[Any, Any, T]) -> T:
    """Run `main`; a database that cannot be reached, refuses the credentials or fails to start
    ends the process with one line on stderr instead of a traceback."""
    import asyncpg

    from service.domain.errors import Unavailable

    try:
        return _run(main)
    except (
        Unavailable,
        asyncpg.PostgresError,
        asyncpg.ClientConfigurationError,
        OSError,
        subprocess.SubprocessError,
    ) as error:
        log.debug("%s failed", command, exc_info=True)
        sys.exit(f"finance-tracker: cannot {command}: {error}")


def _run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
