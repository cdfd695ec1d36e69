"""The standard gRPC health service, SERVING only while the database answers."""

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from grpc_health.v1 import health, health_pb2

from service.db.database import Database

log = logging.getLogger(__name__)


class DatabaseHealthMonitor:
    """Pings the database every `interval` seconds and sets the health of every service.

    The overall status ("") and each named service go NOT_SERVING while the database does not
    answer, and back to SERVING when it does.
    """

    def __init__(
        self,
        database: Database,
        servicer: health.aio.HealthServicer,
        services: Iterable[str],
        *,
        interval: float,
    ) -> None:
        self._database = database
        self._servicer = servicer
        self._services = ["", *services]
        self._interval = interval
        self._serving: bool | None = None
        self._task: asyncio.Task[None] | None = None

    async def check_once(self) -> bool:
        """Ping the database now and publish the result; returns whether it answered."""
        serving = await self._database.ping(timeout=max(self._interval, 1.0))
        if serving != self._serving:
            log.log(
                logging.INFO if serving else logging.WARNING,
                "database %s",
                "reachable: SERVING" if serving else "unreachable: NOT_SERVING",
            )
            status = (
                health_pb2.HealthCheckResponse.SERVING
                if serving
                else health_pb2.HealthCheckResponse.NOT_SERVING
            )
            for service in self._services:
                await self._servicer.set(service, status)
            self._serving = serving
        return serving

    async def start(self) -> None:
        """Publish the current status, then keep checking in the background."""
        await self.check_once()
        self._task = asyncio.create_task(self._run(), name="database-health")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.check_once()

    async def stop(self) -> None:
        """Stop checking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
