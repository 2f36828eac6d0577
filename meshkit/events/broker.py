"""One NATS JetStream connection per process, on its own asyncio loop in a daemon thread.

nats-py is asyncio only and the services are thread-pool servers, so the client gets one event loop in a
background thread; other threads hand it coroutines (`Broker.run`). gRPC handlers never come here: they
write outbox rows, and the relay (meshkit.events.outbox) publishes them.

The connection is made in the background and retried for ever: a service starts and serves whether or not
the broker is up. After every (re)connect the streams this process needs are created (idempotently: a server
that lost its storage gets them back) and the `on_connect` callbacks run (consumers bind again).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import nats
from nats.js import api
from nats.js.errors import BadRequestError

from meshkit.events.envelope import StreamSpec
from meshkit.events.metrics import EventMetrics

log = logging.getLogger(__name__)

T = TypeVar("T")

DUPLICATE_WINDOW = 120.0
"""Seconds JetStream remembers a Nats-Msg-Id: a relay that re-publishes within them stores nothing twice."""


class BrokerUnavailable(RuntimeError):
    """Not connected to the broker (it is down, or not reached yet)."""


class Broker:
    """Start with `start()`; `run(coro)` from any thread; `stop()` closes the connection."""

    def __init__(
        self,
        url: str,
        name: str,
        streams: Sequence[StreamSpec],
        metrics: EventMetrics,
        *,
        stream_replicas: int = 1,
    ) -> None:
        self.url = url
        self.name = name
        self.streams = list(streams)
        self.metrics = metrics
        self.stream_replicas = stream_replicas
        self._loop: asyncio.AbstractEventLoop | None = (
            None  # made by start(): a server never started has none
        )
        self.nc: Any = None
        self.js: Any = None
        self._ready = threading.Event()
        self._ready_async: asyncio.Event | None = None
        self._stopping = False
        self._on_connect: list[Callable[[], Awaitable[None]]] = []
        self._on_disconnect: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._serve, name="nats", daemon=True)

    # -- life cycle -----------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise BrokerUnavailable("the broker connection was not started")
        return self._loop

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._connect(), self.loop)

    def _serve(self) -> None:
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        if not self._thread.is_alive():
            return
        try:
            self.run(self._close(), timeout)
        except Exception as exc:  # stopping anyway
            log.warning("closing the NATS connection: %s", exc)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)

    async def _close(self) -> None:
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            # Let them run their cancellation: a task still "cancelling" when the loop stops is destroyed pending,
            # which asyncio logs as an ERROR at every shutdown (the consumers' fetch loops).
            await asyncio.wait(tasks, timeout=1.0)
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()

    def on_connect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """`callback` runs on the loop after every (re)connect, once the streams exist."""
        self._on_connect.append(callback)

    def on_disconnect(self, callback: Callable[[], None]) -> None:
        """`callback` runs on the loop when the connection drops."""
        self._on_disconnect.append(callback)

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    async def wait_connected(self) -> None:
        if self._ready_async is None:
            self._ready_async = asyncio.Event()
            if self._ready.is_set():
                self._ready_async.set()
        await self._ready_async.wait()

    # -- calls from other threads -----------------------------------------------

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Runs `coro` on the broker's loop and waits for its result."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def spawn(self, coro: Coroutine[Any, Any, None]) -> concurrent.futures.Future[None]:
        """Runs `coro` on the broker's loop in the background (consumers)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    # -- connecting -------------------------------------------------------------

    async def _connect(self) -> None:
        delay, warned = 0.1, False
        while not self._stopping:
            try:
                self.nc = await nats.connect(
                    self.url,
                    name=self.name,
                    connect_timeout=2,
                    # Once connected, the client reconnects by itself, for ever, every half second.
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    ping_interval=5,
                    max_outstanding_pings=2,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                )
                break
            except Exception as exc:
                if not warned:
                    log.warning(
                        "NATS broker %s unreachable, retrying: %s", self.url, exc or type(exc).__name__
                    )
                    warned = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        if self._stopping:
            return
        self.js = self.nc.jetstream(timeout=5)
        log.info("connected to the NATS broker %s", self.url)
        await self._ready_up()

    async def _ready_up(self) -> None:
        """Streams, then callbacks; retried until they succeed (the server may still be recovering)."""
        while not self._stopping and self.nc is not None and self.nc.is_connected:
            try:
                for spec in self.streams:
                    await self._ensure_stream(spec)
                self._set_ready(True)
                for callback in self._on_connect:
                    await callback()
                return
            except Exception as exc:
                log.warning("NATS set-up failed, retrying: %s", exc or type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _ensure_stream(self, spec: StreamSpec) -> None:
        config = api.StreamConfig(
            name=spec.name,
            subjects=list(spec.subjects),
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            max_age=spec.max_age_seconds or None,
            duplicate_window=DUPLICATE_WINDOW,
            num_replicas=self.stream_replicas,
        )
        try:
            await self.js.add_stream(config)
        except BadRequestError:  # exists with another configuration (an older release's): bring it up to date
            await self.js.update_stream(config)

    def _set_ready(self, ready: bool) -> None:
        self.metrics.broker_connected.set(1 if ready else 0)
        if ready:
            self._ready.set()
            if self._ready_async is not None:
                self._ready_async.set()
        else:
            self._ready.clear()
            if self._ready_async is not None:
                self._ready_async.clear()

    async def _disconnected(self) -> None:
        if self._ready.is_set() and not self._stopping:
            log.warning("lost the NATS broker %s; events wait in the outbox", self.url)
        self._set_ready(False)
        for callback in self._on_disconnect:
            callback()

    async def _reconnected(self) -> None:
        log.info("reconnected to the NATS broker %s", self.url)
        await self._ready_up()

    async def _error(self, exc: Exception) -> None:
        # Connection errors while reconnecting are expected when the broker is down: the disconnect said so.
        log.debug("NATS: %s", exc)
