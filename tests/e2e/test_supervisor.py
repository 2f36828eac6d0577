"""The local supervisor (the one `make up` runs): a process killed from outside with `kill -9` comes back by
itself while the rest keeps serving, and `meshctl status` shows it.

The processes are killed with os.kill, as an operator or the OOM killer would, never through the Mesh API
(whose `kill` keeps a process down on purpose).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from shopmesh.order.v1 import order_service_pb2 as order_pb
from shopmesh.payment.v1 import payment_service_pb2 as payment_pb
from shopmesh.product.v1 import product_service_pb2 as product_pb
from shopmesh.user.v1 import user_service_pb2 as user_pb

from devkit.postgres import PostgresServer
from meshctl.launcher import NATS, SINK
from tests.e2e.conftest import ROOT, SERVICES, RunningMesh, running_mesh
from tests.e2e.flows import DECLINING_CARD, EXP_YEAR, Account, Stubs
from tests.e2e.invariants import check_books, check_events

BACK_WITHIN = 25.0
"""Seconds from kill -9 to SERVING again: the 0.5 s back-off plus a start, on two shared, loaded cores."""
CLEAN_FAILURES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED, grpc.StatusCode.DEADLINE_EXCEEDED}
# The readers' channel retries a connection within a quarter second (grpcio's default back-off grows to
# minutes), so reads resume as soon as a restarted Envoy listens.
QUICK_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 250),
]


@pytest.fixture(scope="module")
def sup_mesh(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    with running_mesh(postgres, tmp_path_factory.mktemp("supervisor"), "supervisor") as running:
        yield running


@dataclass
class Reads:
    """Steady reads through the gateway from a few threads: a product, the catalog, an order, a user."""

    ok: int = 0
    failures: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return self.ok


@contextmanager
def steady_reads(mesh: RunningMesh, threads: int = 4) -> Iterator[Reads]:
    admin = Stubs(mesh.channel, mesh.admin_token)
    product = admin.product(stock=1000).name
    buyer = Stubs(mesh.channel).signup()
    order = buyer.api.order(product).name
    channel = grpc.insecure_channel(mesh.endpoints.gateway, options=QUICK_RECONNECT)
    api = Stubs(channel, buyer.token)
    calls: list[Callable[[], object]] = [
        lambda: api.products.GetProduct(product_pb.GetProductRequest(name=product), timeout=10),
        lambda: api.products.ListProducts(product_pb.ListProductsRequest(page_size=5), timeout=10),
        lambda: api.orders.GetOrder(order_pb.GetOrderRequest(name=order), timeout=10),
        lambda: api.users.GetUser(user_pb.GetUserRequest(name=buyer.user.name), timeout=10),
    ]
    reads, stop = Reads(), threading.Event()

    def loop(offset: int) -> None:
        turn = offset
        while not stop.is_set():
            turn += 1
            try:
                calls[turn % len(calls)]()
            except grpc.RpcError as error:
                with reads.lock:
                    reads.failures.append((time.monotonic(), f"{error.code().name}: {error.details()}"))
                time.sleep(0.05)
                continue
            with reads.lock:
                reads.ok += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.5)
        yield reads
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        channel.close()


def _pids(mesh: RunningMesh) -> dict[str, int]:
    return {c.name: c.process.pid for c in mesh.launcher.children}


def kill_from_outside(mesh: RunningMesh, name: str) -> tuple[int, float]:
    """kill -9 one process; returns its pid and the seconds until its successor is healthy."""
    pid = mesh.launcher.child(name).process.pid
    probe = mesh.launcher.supervisor.spec(name).probe
    assert probe is not None
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    deadline = killed + BACK_WITHIN
    while True:
        child = mesh.launcher.child(name)
        if child.process.pid != pid and child.alive() and probe.check():
            return pid, time.monotonic() - killed
        assert time.monotonic() < deadline, f"{name} was not back within {BACK_WITHIN} s"
        time.sleep(0.05)


def wait_for_envoy(mesh: RunningMesh, timeout: float = BACK_WITHIN) -> float:
    """Seconds until Envoy routes to every replica again and holds the signing keys."""
    started = time.monotonic()
    while not mesh.launcher.envoy_ready():
        assert time.monotonic() - started < timeout, "Envoy did not see every replica healthy again"
        time.sleep(0.05)
    return time.monotonic() - started


def restart_line(mesh: RunningMesh, name: str, pid: int) -> list[str]:
    return [r for r in mesh.launcher.supervisor.reports if r.startswith(f"{name} (pid {pid}) exited")]


def test_a_replica_of_each_service_killed_from_outside_loses_no_read_and_comes_back(
    sup_mesh: RunningMesh,
) -> None:
    timings: dict[str, float] = {}
    with steady_reads(sup_mesh) as reads:
        for turn, service in enumerate(SERVICES):
            name = f"{service}-{turn % 2}"
            others = {n: p for n, p in _pids(sup_mesh).items() if n != name}
            before = reads.count()
            pid, back = kill_from_outside(sup_mesh, name)
            rejoined = back + wait_for_envoy(sup_mesh)
            timings[name] = back
            assert reads.count() > before, f"no read completed while {name} was down"
            assert {n: p for n, p in _pids(sup_mesh).items() if n != name} == others  # nobody else moved
            [line] = restart_line(sup_mesh, name, pid)  # exactly one line per restart
            assert "exited with signal SIGKILL" in line and line.endswith("restart attempt 1 in 0.5 s"), line
            print(f"{name}: SERVING {back:.1f} s after kill -9, routed again after {rejoined:.1f} s")
        total = reads.count()
    print(f"reads: {total} ok, {len(reads.failures)} failed; back to SERVING after {timings}")
    assert reads.failures == [], reads.failures[:5]
    assert all(sup_mesh.launcher.supervisor.restarts(n) == 1 for n in timings)
    assert sup_mesh.launcher.dead_child() is None  # the mesh never stopped


def test_envoy_killed_from_outside_comes_back(sup_mesh: RunningMesh) -> None:
    with steady_reads(sup_mesh) as reads:
        pid = sup_mesh.launcher.child("envoy").process.pid
        seen = reads.count()
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        deadline = killed + BACK_WITHIN
        while True:  # back: reads succeed again, and none has failed for a second
            with reads.lock:
                last_failure = reads.failures[-1][0] if reads.failures else killed
            if (
                sup_mesh.launcher.child("envoy").process.pid != pid
                and reads.count() > seen
                and time.monotonic() - last_failure > 1.0
            ):
                break
            assert time.monotonic() < deadline, f"the gateway was not back within {BACK_WITHIN} s"
            time.sleep(0.05)
        outage = last_failure - killed
        routed = time.monotonic() - killed
        wait_for_envoy(sup_mesh)
        failed_before = len(reads.failures)
        steady = reads.count()
        time.sleep(1.0)
        assert len(reads.failures) == failed_before and reads.count() > steady  # serving steadily again
    print(
        f"envoy: reads failed for {outage:.1f} s after kill -9 ({failed_before} failed reads), "
        f"serving steadily {routed:.1f} s after it"
    )
    [line] = restart_line(sup_mesh, "envoy", pid)
    assert "exited with signal SIGKILL" in line, line
    assert outage < BACK_WITHIN


@pytest.mark.parametrize("name", [SINK, NATS])
def test_the_trace_sink_and_the_broker_killed_from_outside_come_back(
    sup_mesh: RunningMesh, name: str
) -> None:
    others = {n: p for n, p in _pids(sup_mesh).items() if n != name}
    pid, back = kill_from_outside(sup_mesh, name)
    print(f"{name}: healthy {back:.1f} s after kill -9")
    [line] = restart_line(sup_mesh, name, pid)
    assert "exited with signal SIGKILL" in line, line
    assert {n: p for n, p in _pids(sup_mesh).items() if n != name} == others


def _settle(api: Stubs, request: order_pb.CreateOrderRequest, failed: list[str]) -> order_pb.Order:
    """What a client does: the same request (same request_id) again until it gets an answer."""
    deadline = time.monotonic() + 90
    while True:
        try:
            return api.orders.CreateOrder(request, timeout=30)
        except grpc.RpcError as error:
            assert error.code() in CLEAN_FAILURES, f"{error.code().name}: {error.details()}"
            failed.append(f"{error.code().name}: {error.details()}")
            assert time.monotonic() < deadline, "an order did not settle within 90 s"
            time.sleep(0.5)


def test_orders_placed_while_an_orders_replica_is_killed_all_settle(sup_mesh: RunningMesh) -> None:
    admin = Stubs(sup_mesh.channel, sup_mesh.admin_token)
    products = [admin.product(stock=10_000).name for _ in range(2)]
    initial = {p.removeprefix("products/"): 10_000 for p in products}
    buyers: list[Account] = [Stubs(sup_mesh.channel).signup() for _ in range(3)]
    orders: list[order_pb.Order] = []
    failed: list[str] = []
    stop = threading.Event()

    def shop(buyer: Account, turn: int) -> None:
        while not stop.is_set():
            turn += 1
            request = order_pb.CreateOrderRequest(
                request_id=str(uuid.uuid4()),
                order=order_pb.Order(items=[order_pb.OrderItem(product=products[turn % 2], quantity=1)]),
                payment=payment_pb.PaymentCard(
                    card_number=DECLINING_CARD if turn % 5 == 0 else "4242424242424242",
                    exp_month=12, exp_year=EXP_YEAR, cvc="123",
                ),
            )  # fmt: skip
            orders.append(_settle(buyer.api, request, failed))

    shoppers = [threading.Thread(target=shop, args=(b, i)) for i, b in enumerate(buyers)]
    for thread in shoppers:
        thread.start()
    time.sleep(2)
    placed_before = len(orders)
    _, back = kill_from_outside(sup_mesh, "orders-0")
    wait_for_envoy(sup_mesh)
    time.sleep(2)
    stop.set()
    for thread in shoppers:
        thread.join(timeout=120)
    assert len(orders) > placed_before
    statuses = {order_pb.Order.Status.Name(o.status) for o in orders}
    assert statuses <= {"CONFIRMED", "FAILED"}, statuses
    deadline = time.monotonic() + 30
    while sup_mesh.sql("orders", "SELECT count(*) FROM orders WHERE status = 'PENDING'")[0][0]:
        assert time.monotonic() < deadline, "orders still PENDING after 30 s"
        time.sleep(0.5)
    books = check_books(sup_mesh, initial)
    # One notifications replica was killed by the first test: at most one e-mail sent twice for it.
    deadline = time.monotonic() + 30
    while (events := check_events(sup_mesh, mailer_kills=1)).problems and time.monotonic() < deadline:
        time.sleep(1.0)
    print(
        f"orders: {len(orders)} placed ({placed_before} before orders-0 was killed, back in {back:.1f} s), "
        f"{len(failed)} attempts answered {sorted(set(failed))} and retried with their request_id"
    )
    assert books.problems == []
    assert events.problems == []


def _status(run_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshctl", "status", "--run-dir", str(run_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _table(output: str) -> dict[str, dict[str, str]]:
    """The status table by process, its cells cut at the header's column starts."""
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("PROCESS"))
    columns = re.split(r"\s{2,}", lines[header].strip())
    starts = [lines[header].index(c) for c in columns]
    rows = {}
    for line in lines[header + 1 :]:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows[cells[0]] = dict(zip(columns, cells, strict=True))
    return rows


def test_status_lists_every_process_with_its_restarts_and_health(sup_mesh: RunningMesh) -> None:
    kill_from_outside(sup_mesh, "payments-1")
    restarts = sup_mesh.launcher.supervisor.restarts("payments-1")
    shown = _status(sup_mesh.run_dir)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    table = _table(shown.stdout)
    assert set(table) == {c.name for c in sup_mesh.launcher.children}
    for name, row in table.items():
        assert row["PID"] == str(sup_mesh.launcher.child(name).process.pid)
        assert row["STATE"] == "running" and row["HEALTH"] == "healthy", row
        assert row["PORT"] != "-" and row["UPTIME"] != "-"
    assert int(table["payments-1"]["RESTARTS"]) == restarts >= 1
    assert table["payments-1"]["LAST EXIT"] == "signal SIGKILL"
    assert table["envoy"]["PORT"] == sup_mesh.endpoints.gateway.rpartition(":")[2]

    # Stopped on purpose (the tests' Mesh.kill): down, not restarted, and the status says so.
    sup_mesh.launcher.kill("products-1")
    try:
        time.sleep(1.0)
        down = _status(sup_mesh.run_dir)
        assert down.returncode == 2, down.stdout + down.stderr
        row = _table(down.stdout)["products-1"]
        assert (row["STATE"], row["HEALTH"]) == ("stopped", "down"), row
    finally:
        sup_mesh.launcher.restart("products-1")
    assert _status(sup_mesh.run_dir).returncode == 0


def test_status_without_a_running_mesh_says_so(tmp_path: Path) -> None:
    shown = _status(tmp_path)
    assert shown.returncode == 1
    assert f"no mesh is running from {tmp_path}" in shown.stderr and "make up" in shown.stderr
