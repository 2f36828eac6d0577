"""examples/go-events, a Go reader built from the contracts' generated code, follows the order events in NATS.

The reader is built with `go build` and follows the stream SHOPMESH_ORDER_V1 through an ordered (ephemeral)
consumer. Most tests run it against a nats-server of their own, with the stream made by meshkit's Broker as
the orders service makes it, and publish events with the headers meshkit.events.envelope.Event builds for
the services (the CloudEvents NATS binding in binary mode); the last one reads the event that an order placed
through the gateway of the real mesh publishes. The reader must print each event decoded by its ce-type, the
Order as Python's json_format renders it; report a body that does not decode, an unknown type and a
republished copy on stderr and go on; and leave neither a consumer nor a stream behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp
from google.type.money_pb2 import Money
from nats.js import api
from nats.js.errors import NotFoundError
from shopmesh.order.v1.events_pb2 import OrderCancelled, OrderConfirmed, OrderFailed
from shopmesh.order.v1.order_service_pb2 import Order, OrderItem

from devkit.ports import free_port
from meshkit.events import EventMetrics
from meshkit.events.broker import Broker
from meshkit.events.envelope import MSG_ID, Event, package_of, stream_of, stream_spec, subject_of
from tests.e2e import flows
from tests.e2e.conftest import ROOT, RunningMesh
from tests.e2e.test_polyglot import _run
from tests.support.nats import NatsServer, jetstream, publish

SOURCE_DIR = ROOT / "examples" / "go-events"
BUILD_TIMEOUT = 600  # a cold module cache downloads nats.go and the generated module's dependencies
RUN_TIMEOUT = 60

STREAM, PACKAGE = stream_of(OrderConfirmed), package_of(OrderConfirmed)
SOURCE = "//orders.shopmesh.dev"
LISTENING = "listening on "  # the reader's stderr line once its consumer exists
GARBAGE = b"\x0a\x05ab"  # field 1, length 5, but only 2 bytes follow: not a message of any type
OrderEvent = OrderConfirmed | OrderFailed | OrderCancelled
PRINTED_HEADERS = ("ce_id", "ce_type", "ce_source", "ce_subject", "ce_time", "traceparent")

# The first test also builds the reader (the `binary` fixture): with a cold Go build cache that alone takes
# minutes on two cores, past pytest's default of 300 s; run alone, the mesh test also starts the mesh (~30 s)
# first. Every wait in here has its own, shorter limit.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(BUILD_TIMEOUT + 2 * RUN_TIMEOUT)]


# -- the reader -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events printed, one JSON object a line (every stdout line must be one)."""
        return [json.loads(line) for line in self.stdout.splitlines()]

    def skipped(self, event: Event) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("skipped ") and event.id in line]

    def __str__(self) -> str:
        return f"exit {self.returncode}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"


@dataclass
class Reader:
    """examples/go-events running in the background, its stdout and stderr going to files."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> tuple[str, str]:
        return self.stdout.read_text(), self.stderr.read_text()

    def wait_for(self, ready: Callable[[str, str], bool], what: str, timeout: float = 30.0) -> None:
        """Until `ready(stdout, stderr)`; fails when the reader exits first or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while not ready(*self.output()):
            if self.process.poll() is not None:
                pytest.fail(f"the reader exited before {what}:\n{self.finish()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the reader did not get to {what} in {timeout} s:\n{self.output()}")
            time.sleep(0.05)

    def wait_listening(self) -> None:
        """Until its consumer exists: with --deliver new, what is published from now on is seen."""
        self.wait_for(lambda _, err: LISTENING in err, "listening")

    def finish(self, timeout: float = RUN_TIMEOUT) -> Finished:
        try:
            returncode = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the reader did not exit within {timeout} s:\n{self.output()}")
        return Finished(returncode, *self.output())

    def interrupt(self) -> Finished:
        self.process.send_signal(signal.SIGTERM)
        return self.finish()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`go build` of examples/go-events, a module that requires shopmesh.dev/gen/go (replaced by ../../gen/go)."""
    go = shutil.which("go")
    assert go, "go is not on PATH: the Go toolchain is needed to build examples/go-events"
    binary = tmp_path_factory.mktemp("go-events") / "go-events"
    # As test_polyglot.py builds examples/go: -mod=readonly holds go.mod/go.sum as committed (the modules they
    # name still download), and Go's build cache makes an unchanged rebuild cheap.
    _run([go, "build", "-mod=readonly", "-buildvcs=false", "-o", str(binary), "."], SOURCE_DIR, BUILD_TIMEOUT)
    return binary


@pytest.fixture
def go_events(binary: Path, tmp_path: Path) -> Iterator[Callable[..., Reader]]:
    """Starts the reader with these arguments; keywords are set in its environment, which otherwise is this
    process's without SHOPMESH_NATS_URL (a developer's own broker is never read)."""
    started: list[Reader] = []

    def start(*args: str, **env: str) -> Reader:
        scratch = tmp_path / f"reader-{len(started)}"
        scratch.mkdir()
        environ = {k: v for k, v in os.environ.items() if k != "SHOPMESH_NATS_URL"} | env
        with (scratch / "stdout").open("wb") as out, (scratch / "stderr").open("wb") as err:
            process = subprocess.Popen(
                [str(binary), *args], stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=environ
            )
        started.append(Reader(process, scratch / "stdout", scratch / "stderr"))
        return started[-1]

    yield start
    for reader in started:
        reader.kill()


# -- the broker, and events as the services publish them ----------------------------------------------------


def create_stream(url: str) -> None:
    """SHOPMESH_ORDER_V1 made by meshkit's Broker, as the orders service makes it when it starts."""
    broker = Broker(url, "go-events-test", [stream_spec(OrderConfirmed)], EventMetrics())
    broker.start()
    try:
        broker.run(broker.wait_connected(), 10)  # connected = its streams exist
    finally:
        broker.stop()


def consumers(url: str) -> list[api.ConsumerInfo]:
    return jetstream(url, lambda js: js.consumers_info(STREAM))


def stream_config(url: str) -> dict[str, Any]:
    """NotFoundError when there is no such stream."""

    async def config(js: Any) -> dict[str, Any]:
        return dict((await js.stream_info(STREAM)).config.as_dict())

    return jetstream(url, config)


@pytest.fixture(scope="module")
def nats_url() -> Iterator[str]:
    """A JetStream node of this module's own, with the orders stream."""
    server = NatsServer()
    try:
        server.start()
        create_stream(server.url)
        yield server.url
    finally:
        server.close()


@pytest.fixture
def orders_stream(nats_url: str) -> str:
    """The module's broker with SHOPMESH_ORDER_V1 emptied: the test's own events alone."""
    jetstream(nats_url, lambda js: js.purge_stream(STREAM))
    return nats_url


def an_order(status: Order.Status, *items: tuple[str, int, int], failure_reason: str = "") -> Order:
    """An order as the orders service writes it; `items` are (title, quantity, unit price in cents)."""
    created, updated = Timestamp(), Timestamp()
    created.FromDatetime(dt.datetime(2026, 12, 3, 15, 29, 1, 123456, tzinfo=dt.UTC))
    updated.GetCurrentTime()
    return Order(
        name=f"orders/{uuid.uuid4().hex}",
        user=f"users/{uuid.uuid4().hex}",
        items=[
            OrderItem(
                product=f"products/{uuid.uuid4().hex}", quantity=quantity, unit_price=usd(cents), title=title
            )
            for title, quantity, cents in items
        ],
        total=usd(sum(quantity * cents for _, quantity, cents in items)),
        status=status,
        payment=f"payments/{uuid.uuid4().hex}",
        failure_reason=failure_reason,
        create_time=created,
        update_time=updated,
    )


def usd(cents: int) -> Money:
    return Money(currency_code="USD", units=cents // 100, nanos=cents % 100 * 10_000_000)


def cloud_event(
    message: OrderEvent, *, traced: bool = False, ce_type: str = "", data: bytes | None = None
) -> Event:
    """`message`, an order event, as the orders service publishes it; `ce_type` and `data` make bad ones."""
    return Event(
        id=uuid.uuid4().hex,
        type=ce_type or subject_of(message),
        source=SOURCE,
        subject=message.order.name,
        time=dt.datetime.now(dt.UTC),
        data=message.SerializeToString() if data is None else data,
        traceparent=f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01" if traced else "",
    )


def send(url: str, event: Event, headers: dict[str, str] | None = None) -> api.PubAck:
    """Publishes `event` on the subject named like its type (as the relay does), with its own headers."""
    return publish(url, event.type, event.data, headers or event.headers())


def assert_printed(line: dict[str, Any], event: Event, order: Order) -> None:
    """`line`, printed by the reader, is `event`: its headers as written and the Order decoded from its body,
    as Go's protojson renders it and Python's json_format does (the canonical JSON form)."""
    headers = event.headers()
    assert {k: line[k] for k in PRINTED_HEADERS} == {
        k: headers.get(k.replace("_", "-"), "") for k in PRINTED_HEADERS
    }
    assert line["order"] == json_format.MessageToDict(order)


# -- the tests ------------------------------------------------------------------------------------------------


def test_reader_prints_each_order_event_and_skips_what_it_cannot_decode(
    orders_stream: str, go_events: Callable[..., Reader]
) -> None:
    url = orders_stream
    earlier = cloud_event(OrderConfirmed(order=an_order(Order.CONFIRMED, ("Gopher mug", 1, 1250))))
    send(url, earlier)  # before the reader starts: --deliver new never shows it
    stream_before = stream_config(url)

    orders = [
        an_order(Order.CONFIRMED, ("Gopher mug", 2, 1250), ("Gopher sticker", 1, 300)),
        an_order(Order.FAILED, ("Gopher mug", 1, 1250), failure_reason="card_declined"),
        an_order(Order.CANCELLED, ("Gopher hoodie", 1, 4500)),
    ]
    good = [
        cloud_event(OrderConfirmed(order=orders[0]), traced=True),
        cloud_event(OrderFailed(order=orders[1]), traced=True),
        cloud_event(OrderCancelled(order=orders[2])),  # no traceparent
    ]
    with pytest.raises(DecodeError):  # garbage by the contract's own reading too
        OrderConfirmed.FromString(GARBAGE)
    garbage = cloud_event(OrderConfirmed(order=orders[0]), data=GARBAGE)
    unknown = cloud_event(OrderConfirmed(order=orders[0]), ce_type=f"{PACKAGE}.OrderShipped")
    # The relay retrying after JetStream's duplicate window (two minutes) closed: the same ce-id stored again.
    # Without Nats-Msg-Id here, the stream stores it at once.
    copy = {k: v for k, v in good[0].headers().items() if k != MSG_ID}

    reader = go_events("--nats", url, "--deliver", "new", "--count", "3", "--timeout", f"{RUN_TIMEOUT - 10}s")
    reader.wait_listening()
    (consumer,) = consumers(url)
    # Ephemeral and in memory: nothing durable on the server, whatever happens to the reader.
    assert consumer.config.durable_name is None and consumer.config.mem_storage is True
    assert consumer.config.ack_policy == api.AckPolicy.NONE
    assert consumer.config.inactive_threshold and consumer.config.inactive_threshold <= 60
    # Each bad one comes before a good one, so the reader has to get past it.
    acks = [send(url, good[0]), send(url, garbage), send(url, unknown), send(url, good[0], copy)]
    acks += [send(url, good[1]), send(url, good[2])]
    assert not any(ack.duplicate for ack in acks), "every message must be stored, the copy too"
    finished = reader.finish()

    assert finished.returncode == 0, finished
    assert len(finished.events) == len(good), finished
    for line, event, order in zip(finished.events, good, orders, strict=True):
        assert_printed(line, event, order)
    (bad_body,) = finished.skipped(garbage)
    assert f"body is not a {PACKAGE}.OrderConfirmed" in bad_body, bad_body
    (bad_type,) = finished.skipped(unknown)
    assert f'unknown ce-type "{PACKAGE}.OrderShipped"' in bad_type, bad_type
    (again,) = finished.skipped(good[0])
    assert "already printed" in again, again
    assert earlier.id not in finished.stdout + finished.stderr
    # It leaves the stream as it found it.
    assert consumers(url) == []
    assert stream_config(url) == stream_before


def test_reader_replays_the_stream_and_exits_by_count_or_timeout(
    orders_stream: str, go_events: Callable[..., Reader]
) -> None:
    url = orders_stream
    orders = [
        an_order(Order.CONFIRMED, ("Gopher pin", 3, 999)),
        an_order(Order.CANCELLED, ("Gopher pin", 3, 999)),
        an_order(Order.CONFIRMED, ("Gopher hoodie", 1, 4500)),
    ]
    kinds = [OrderConfirmed, OrderCancelled, OrderConfirmed]
    stored = [cloud_event(kind(order=order)) for kind, order in zip(kinds, orders, strict=True)]
    for event in stored:
        send(url, event)

    # --deliver all from the oldest event, one type, the broker from $SHOPMESH_NATS_URL: exit 0 after --count.
    args = ("--deliver", "all", "--subject", subject_of(OrderConfirmed), "--count", "2", "--timeout", "30s")
    finished = go_events(*args, SHOPMESH_NATS_URL=url).finish()
    assert finished.returncode == 0, finished
    assert len(finished.events) == 2, finished
    for line, i in zip(finished.events, (0, 2), strict=True):
        assert_printed(line, stored[i], orders[i])

    # Fewer than --count by --timeout: exit 1, having printed the three there are.
    finished = go_events("--nats", url, "--deliver", "all", "--count", "4", "--timeout", "2s").finish()
    assert finished.returncode == 1, finished
    assert "timed out after 2s: 3 of 4 events arrived" in finished.stderr, finished
    assert [line["ce_id"] for line in finished.events] == [event.id for event in stored]
    # With --count 0, not one by --timeout is a failure too.
    args = ("--deliver", "all", "--subject", subject_of(OrderFailed), "--timeout", "1s")
    finished = go_events("--nats", url, *args).finish()
    assert finished.returncode == 1, finished
    assert "events failed: timed out after 1s: no event arrived" in finished.stderr, finished
    assert finished.stdout == ""
    assert consumers(url) == []


def test_reader_rides_out_a_broker_restart(go_events: Callable[..., Reader]) -> None:
    server = NatsServer()  # its own: restarted here
    try:
        server.start()
        create_stream(server.url)
        first, second = (cloud_event(OrderConfirmed(order=an_order(Order.CONFIRMED, ("Gopher mug", 1, 1250))))
                         for _ in range(2))  # fmt: skip
        reader = go_events("--nats", server.url, "--count", "2", "--timeout", "45s")
        reader.wait_listening()
        send(server.url, first)
        reader.wait_for(lambda out, _: first.id in out, "printing the first event")
        # The stream is on disk and comes back; the reader's in-memory consumer does not, and is made again
        # after the reconnect, from the event after the last one printed.
        server.restart()
        send(server.url, second)
        finished = reader.finish()
        assert finished.returncode == 0, finished
        assert [line["ce_id"] for line in finished.events] == [first.id, second.id], finished
        assert "reconnected to the broker" in finished.stderr, finished
        assert consumers(server.url) == []
    finally:
        server.close()


def test_reader_exits_1_without_a_broker_or_without_the_stream_and_creates_none(
    go_events: Callable[..., Reader],
) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    finished = go_events("--nats", url, "--timeout", "10s").finish()
    assert finished.returncode == 1, finished
    assert f"events failed: connecting to {url}" in finished.stderr, finished
    assert finished.stdout == ""

    server = NatsServer()  # no service ever ran here: no stream
    try:
        server.start()
        finished = go_events("--nats", server.url, "--timeout", "10s").finish()
        assert finished.returncode == 1, finished
        assert f"no stream {STREAM}" in finished.stderr, finished
        with pytest.raises(NotFoundError):  # a consumer must not create the services' stream
            stream_config(server.url)
    finally:
        server.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--deliver", "last"), '--deliver "last": want new or all'),
        (("--subject", "shopmesh.user.v1.>"), f"is not in the stream {STREAM}"),
        (("--count", "-1"), "cannot be negative"),
        (("extra",), 'unexpected argument "extra"'),
    ],
)
def test_reader_refuses_bad_flags(
    go_events: Callable[..., Reader], args: tuple[str, ...], message: str
) -> None:
    # No broker at all: flags are checked before anything connects.
    finished = go_events("--nats", f"nats://127.0.0.1:{free_port()}", *args).finish()
    assert finished.returncode == 2, finished
    assert message in finished.stderr, finished


def test_reader_prints_an_order_placed_through_the_gateway(
    mesh: RunningMesh, go_events: Callable[..., Reader]
) -> None:
    url = mesh.endpoints.nats
    before = {c.name for c in consumers(url)}  # the services' own, durable
    reader = go_events("--nats", url, "--deliver", "new", "--subject", subject_of(OrderConfirmed))
    reader.wait_listening()
    buyer = flows.Stubs(mesh.channel).signup()
    product = flows.Stubs(mesh.channel, mesh.admin_token).product(stock=10)
    order = buyer.api.order(product.name, 2)
    reader.wait_for(lambda out, _: order.name in out, f"printing {order.name}")
    finished = reader.interrupt()  # without --count it runs until stopped, and that is no failure
    assert finished.returncode == 0, finished

    [line] = [line for line in finished.events if line["ce_subject"] == order.name]
    assert (line["ce_type"], line["ce_source"]) == (subject_of(OrderConfirmed), SOURCE)
    printed, placed = line["order"], json_format.MessageToDict(order)
    assert printed["name"] == order.name and printed["user"] == buyer.user.name
    assert (printed["total"], printed["items"]) == (placed["total"], placed["items"])
    assert [(i["product"], i["quantity"]) for i in printed["items"]] == [(product.name, 2)]
    assert {c.name for c in consumers(url)} <= before, "the reader's consumer outlived it"
