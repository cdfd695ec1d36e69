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
        self._timeout = max(interval, 1.0)
        self._serving: bool | None = None
        self._task: asyncio.Task[None] | None = None
        self._ping: asyncio.Task[bool] | None = None

    async def check_once(self) -> bool:
        """Ping the database now and publish the result; returns whether it answered."""
        serving = await self._answered()
        await self._publish(serving)
        return serving

    async def _answered(self) -> bool:
        """Whether a ping is answered within the timeout.

        On a frozen server a ping can hang past its own timeout (releasing its connection waits
        for an answer that never comes), so it runs in a task of its own, waited for with a
        timeout here. A ping still stuck from an earlier check is waited for again rather than
        joined by a second one.
        """
        if self._ping is None or self._ping.done():
            self._ping = asyncio.create_task(
                self._database.ping(timeout=self._timeout), name="database-ping"
            )
            self._ping.add_done_callback(_retrieve_exception)
        ping = self._ping
        await asyncio.wait([ping], timeout=self._timeout)
        if not ping.done():
            ping.cancel()
            return False
        return not ping.cancelled() and ping.result()

    async def _publish(self, serving: bool) -> None:
        if serving == self._serving:
            return
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

    async def _check(self) -> None:
        """check_once, reporting NOT_SERVING if the check itself fails: an error must neither
        end the checks nor leave the last status in place."""
        try:
            await self.check_once()
        except Exception:
            log.exception("database health check failed; reporting NOT_SERVING")
            self._serving = None
            await self._publish(False)

    async def start(self) -> None:
        """Publish the current status, then keep checking in the background."""
        await self._check()
        self._task = asyncio.create_task(self._run(), name="database-health")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._check()

    async def stop(self) -> None:
        """Stop checking."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ping is not None:
            # Not awaited: on a frozen database it might not finish.
            self._ping.cancel()


def _retrieve_exception(task: "asyncio.Task[bool]") -> None:
    # A ping given up on may still fail later; retrieving its error keeps asyncio from
    # logging "exception was never retrieved" for it.
    if not task.cancelled():
        task.exception()
