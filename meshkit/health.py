"""grpc.health.v1 status that follows the database: SERVING only while it answers."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from grpc_health.v1 import health, health_pb2

from meshkit.db import Database
from meshkit.periodic import Periodic

log = logging.getLogger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class DatabaseHealth:
    """Pings the database on a timer and publishes the result for `services` and ''.

    NOT_SERVING only after `failures` pings in a row fail: a database restart takes a second or two, during
    which calls wait for it (meshkit.db), and flipping every replica out of the load balancer at once would
    turn that short wait into failed calls. A sustained outage flips within `failures * interval` seconds.
    """

    def __init__(
        self,
        servicer: health.HealthServicer,
        db: Database,
        services: Sequence[str],
        interval: float = 1.0,
        failures: int = 3,
    ) -> None:
        self._servicer = servicer
        self._db = db
        self._names = ["", *services]
        self._loop = Periodic("db-health", interval, self.check)
        self._serving: bool | None = None
        self._failures_to_flip = failures
        self._failed = 0

    def start(self) -> None:
        self.check()
        self._loop.start()

    def check(self) -> bool:
        try:
            self._db.ping()
            self._failed = 0
        except Exception as exc:  # any failure to answer counts
            self._failed += 1
            if self._serving is not False:
                log.warning("database is not answering (%d in a row): %s", self._failed, exc)
        # At start and once flipped the last ping decides; while serving, only a run of failures flips it.
        ok = self._failed == 0 or (self._serving is True and self._failed < self._failures_to_flip)
        if ok != self._serving:
            if ok and self._serving is False:
                log.info("database answers again")
            for name in self._names:
                self._servicer.set(name, SERVING if ok else NOT_SERVING)
            self._serving = ok
        return ok

    def stop(self) -> None:
        """Reports NOT_SERVING for good, so load balancers stop sending traffic."""
        self._loop.stop(wait=False)  # a ping to a database that is down must not hold the shutdown
        self._servicer.enter_graceful_shutdown()
