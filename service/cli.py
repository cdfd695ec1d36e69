"""The `finance-tracker` command: serve, migrate, or check a server's health."""

import argparse
import asyncio
import os
import sys

from pydantic import ValidationError

from service.logs import configure_logging
from service.settings import Settings


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "\n".join(
            f"  FINANCE_TRACKER_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        sys.exit(f"finance-tracker: invalid configuration:\n{problems}")


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
    check = commands.add_parser("health", help="ask a running server whether it is SERVING")
    check.add_argument("--address", default="127.0.0.1:50051")
    check.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args(argv)

    if args.command == "health":
        sys.exit(_health(args.address, args.timeout))
    settings = _load_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    from service import server

    if args.command == "serve":
        _run(server.serve(settings))
    else:
        _run(server.migrate(settings))


def _run(main: "asyncio.Future[object] | object") -> None:
    try:
        import uvloop

        uvloop.run(main)  # type: ignore[arg-type]
    except ImportError:
        asyncio.run(main)  # type: ignore[arg-type]
