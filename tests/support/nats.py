"""A throwaway NATS JetStream server for the tests: the venv's nats-server, a free port, its own storage."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import nats
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from devkit.ports import free_block
from meshctl.launcher import default_nats_server

T = TypeVar("T")


class NatsServer:
    """One JetStream node on free ports, storing under `store` (a fresh temporary directory, removed by
    close()) and logging to `log` there; restart() brings it back on the same ports and storage."""

    def __init__(self) -> None:
        self.port = free_block(2)
        self.monitor = self.port + 1
        self.store = Path(tempfile.mkdtemp(prefix="shopmesh-nats-"))
        self.log = self.store / "nats-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        command = [default_nats_server(), "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor),
                   "-js", "-sd", str(self.store)]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nats-server did not become healthy:\n{self.log.read_text()}")
            time.sleep(0.02)

    def _healthy(self) -> bool:
        """JetStream is up, not just the client port (503 while it starts)."""
        url = f"http://127.0.0.1:{self.monitor}/healthz?js-enabled-only=true"
        try:
            with urllib.request.urlopen(url, timeout=0.5) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Stopped and started again: the streams on disk come back, whatever lived in memory does not."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.store, ignore_errors=True)


@dataclass(frozen=True)
class StoredEvent:
    subject: str
    headers: dict[str, str]
    data: bytes
    seq: int

    @property
    def ce_subject(self) -> str:
        return self.headers.get("ce-subject", "")


def jetstream(url: str, work: Callable[[JetStreamContext], Awaitable[T]]) -> T:
    """`work` done on one short connection to the JetStream at `url`."""

    async def call() -> T:
        nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=2)
        try:
            return await work(nc.jetstream(timeout=10))
        finally:
            await nc.close()

    return asyncio.run(call())


def read_stream(url: str, stream: str, subjects: str = ">") -> list[StoredEvent]:
    """Every message a stream holds (on `subjects`), in stream order, read by sequence with the stream's get API:
    no consumer, so nothing is left behind and nothing is lost to a fetch that timed out under load."""

    async def read(js: JetStreamContext) -> list[StoredEvent]:
        info = await js.stream_info(stream)
        found: list[StoredEvent] = []
        seq = info.state.first_seq
        while info.state.messages and seq <= info.state.last_seq:
            try:
                msg = await js.get_msg(
                    stream, seq=seq, subject=f"{stream_prefix(stream)}.{subjects}", next=True
                )
            except NotFoundError:  # nothing on those subjects from `seq` on
                break
            found.append(
                StoredEvent(str(msg.subject), dict(msg.headers or {}), bytes(msg.data or b""), int(msg.seq))
            )
            seq = int(msg.seq) + 1
        return found

    return jetstream(url, read)


def stream_prefix(stream: str) -> str:
    """SHOPMESH_ORDER_V1 -> shopmesh.order.v1 (meshkit.events.envelope's naming, read backwards)."""
    return stream.lower().replace("_", ".")


def publish(url: str, subject: str, data: bytes, headers: dict[str, str]) -> api.PubAck:
    """Publishes one message into JetStream as a producer would (tests playing a foreign or broken producer)."""
    return jetstream(url, lambda js: js.publish(subject, data, headers=headers, timeout=5))
