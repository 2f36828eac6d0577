"""The one background loop: a task every few seconds on a daemon thread, for as long as a server runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs `task` every `interval` seconds on a daemon thread between start() and stop() (the orders
    recovery sweeper, the database health check)."""

    def __init__(self, name: str, interval: float, task: Callable[[], object]) -> None:
        self._name = name
        self._interval = interval
        self._task = task
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait: bool = True) -> None:
        """Ends the loop; `wait`: until a round in progress is over (at most interval + 5 s)."""
        self._stop.set()
        if wait and self._thread.is_alive():
            self._thread.join(timeout=self._interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._task()
            except Exception:  # keep the loop alive; the next round may succeed
                log.exception("%s failed", self._name)
