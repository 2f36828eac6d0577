"""One order, seen from the outside: one trace across Envoy and every service hop, RED metrics that move by
the right amount, log lines carrying the trace id, no secret in any log, and `meshctl trace` showing it all."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.postgres import PostgresServer
from tests.e2e import conftest, flows
from tests.e2e.conftest import ROOT, RunningMesh, running_mesh
from tests.e2e.observe import read_spans, sample, scrape, service_metric
from tests.support.rest import Rest

pytestmark = pytest.mark.e2e

SPANS_WAIT = 20.0


def _wait_for_trace(
    run_dir: Path,
    trace_id: str,
    services: set[str],
    span_ids: frozenset[str] = frozenset(),
    caller_span: str = "",
) -> list[dict[str, Any]]:
    """The trace's spans once every service named, every span id given and every parent is there: the
    exporters batch (Envoy flushes every second), so the last spans arrive a moment after the call."""
    deadline = time.monotonic() + SPANS_WAIT
    while True:
        spans = [s for s in read_spans(run_dir) if s["trace_id"] == trace_id]
        ids = {s["span_id"] for s in spans}
        # Connected: one root (no parent, or the caller's span as parent) and every other parent present.
        roots = [s for s in spans if s["parent_span_id"] in ("", caller_span)]
        orphans = [s for s in spans if s["parent_span_id"] not in ids and s not in roots]
        complete = services <= {s["service"] for s in spans} and span_ids <= ids
        complete = complete and len(roots) == 1 and not orphans
        if complete or time.monotonic() > deadline:
            return spans
        time.sleep(0.25)


def _log_lines(
    run_dir: Path, trace_id: str, methods: set[str], access_path: str
) -> list[tuple[str, dict[str, Any]]]:
    """(process, entry) of the JSON log lines carrying the trace id, once RPC lines of `methods` and Envoy's
    access-log line for `access_path` are there."""
    deadline = time.monotonic() + SPANS_WAIT
    while True:
        logs = {p.stem: p.read_text() for p in (run_dir / "logs").glob("*.log")}
        lines = [(name, json.loads(line)) for name, text in logs.items() for line in text.splitlines()
                 if trace_id in line and line.startswith("{")]  # fmt: skip
        logged = {e.get("method") for _, e in lines if e.get("message") == "rpc"}
        accessed = any(e.get("path") == access_path for name, e in lines if name == "envoy")
        if (methods <= logged and accessed) or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def _customer(mesh: RunningMesh) -> tuple[dict[str, Any], Rest, str]:
    """A new user, logged in: the user, a REST client calling as them, and their access token."""
    user = flows.rest_user(mesh.rest)
    token = str(user["token"])
    return user, mesh.rest.as_user(token), token


def _product(mesh: RunningMesh) -> str:
    """A new product in stock. Creating one takes an admin; the internal listener (a service's view) serves."""
    return str(flows.Stubs(mesh.internal_channel).product(stock=100).name)


def _purchase(
    mesh: RunningMesh, traceparent: str = "", **more_headers: str
) -> tuple[dict[str, Any], float, float]:
    user, rest, _token = _customer(mesh)
    body = flows.rest_order_body(user["name"], _product(mesh), quantity=2)
    headers = {"traceparent": traceparent, **more_headers} if traceparent else dict(more_headers)
    start = time.time()
    reply = rest.request("POST", "/v1/orders", body, headers=headers)
    finish = time.time()
    assert reply.status == 200, reply.text
    assert reply.json["status"] == "CONFIRMED"
    return dict(reply.json), start, finish


def test_one_rest_order_is_one_trace_through_envoy_orders_products_and_payments(mesh: RunningMesh) -> None:
    trace_id, client_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    _order, start, finish = _purchase(mesh, f"00-{trace_id}-{client_span}-01")
    create_order = "/shopmesh.order.v1.OrderService/CreateOrder"
    reserve, charge = (
        "/shopmesh.product.v1.ProductService/ReserveStock",
        "/shopmesh.payment.v1.PaymentService/Charge",
    )
    lines = _log_lines(mesh.run_dir, trace_id, {create_order, reserve, charge}, "/v1/orders")
    logged_spans = frozenset(e["span_id"] for _, e in lines if e.get("message") == "rpc")
    spans = _wait_for_trace(
        mesh.run_dir,
        trace_id,
        {"shopmesh-envoy", "shopmesh-orders", "shopmesh-products", "shopmesh-payments"},
        logged_spans,
        client_span,
    )
    by_id = {s["span_id"]: s for s in spans}
    services = Counter(s["service"] for s in spans)
    assert {"shopmesh-envoy", "shopmesh-orders", "shopmesh-products", "shopmesh-payments"} <= set(services)

    # The client's trace id is the one recorded; Envoy's ingress span is the child of the client's span.
    (gateway,) = [s for s in spans if s["name"] == "ingress" and s["parent_span_id"] == client_span]
    assert gateway["service"] == "shopmesh-envoy" and gateway["attributes"]["shopmesh.listener"] == "public"
    assert gateway["attributes"]["http.url"].endswith("/v1/orders")
    # Every other span hangs off a span of the same trace: the tree is connected.
    for span in spans:
        if span is not gateway:
            assert span["parent_span_id"] in by_id, f"{span['name']} ({span['service']}) has no parent"

    def parent(span: dict[str, Any]) -> dict[str, Any]:
        return by_id[span["parent_span_id"]]

    # gateway -> Envoy egress -> orders' CreateOrder (server side).
    (create,) = [s for s in spans if s["name"] == "/shopmesh.order.v1.OrderService/CreateOrder"]
    assert create["kind"] == "SERVER" and create["attributes"]["rpc.grpc.status_code"] == 0
    assert parent(create)["kind"] == "CLIENT" and parent(parent(create)) is gateway
    # orders' client span -> Envoy's internal listener -> products / payments (server side), both sides recorded.
    for method, service in (
        ("/shopmesh.product.v1.ProductService/ReserveStock", "shopmesh-products"),
        ("/shopmesh.payment.v1.PaymentService/Charge", "shopmesh-payments"),
    ):
        servers = [s for s in spans if s["name"] == method and s["kind"] == "SERVER"]
        clients = [s for s in spans if s["name"] == method and s["kind"] == "CLIENT"]
        assert len(servers) == 1 and len(clients) == 1, (method, servers, clients)
        assert servers[0]["service"] == service and clients[0]["service"] == "shopmesh-orders"
        egress = parent(servers[0])
        ingress = parent(egress)
        assert egress["service"] == ingress["service"] == "shopmesh-envoy"
        assert ingress["attributes"]["shopmesh.listener"] == "internal"
        assert parent(ingress) is clients[0] and parent(clients[0]) is create
    # SQL statements are spans of the services that ran them, children of their server spans (or, for the
    # events the order caused, of the consumer's and the mailer's spans that continue the trace).
    sql = [s for s in spans if "db.statement" in s["attributes"]]
    assert {s["service"] for s in sql} >= {"shopmesh-orders", "shopmesh-products", "shopmesh-payments"}
    assert any(s["attributes"]["db.statement"].startswith("INSERT INTO orders") for s in sql)
    for span in sql:
        wanted = {"CONSUMER", "CLIENT"} if span["service"] == "shopmesh-notifications" else {"SERVER"}
        assert parent(span)["kind"] in wanted and parent(span)["service"] == span["service"]
    assert all(s["attributes"]["db.system"] == "postgresql" for s in sql)
    # Each service span names its replica.
    assert create["replica"] in {f"orders-{i}" for i in range(2)}

    # Nothing else happened in the mesh during the call under another trace id (but events of earlier calls,
    # which continue those calls' traces).
    during = [
        s
        for s in read_spans(mesh.run_dir)
        if start * 1e9 <= s["start_ns"] <= finish * 1e9 and s["service"] != "shopmesh-notifications"
    ]
    assert {s["trace_id"] for s in during} == {trace_id}

    # The log lines of that call carry the same trace id: Envoy's access log and each service's RPC lines.
    access = [e for name, e in lines if name == "envoy" and e.get("path") == "/v1/orders"]
    assert len(access) == 1 and access[0]["trace_id"] == trace_id and access[0]["response_code"] == 200
    rpcs = {(e["service"], e["method"]) for _, e in lines if e.get("message") == "rpc"}
    assert ("orders", "/shopmesh.order.v1.OrderService/CreateOrder") in rpcs
    assert ("products", "/shopmesh.product.v1.ProductService/ReserveStock") in rpcs
    assert ("payments", "/shopmesh.payment.v1.PaymentService/Charge") in rpcs
    for _, entry in lines:
        if entry.get("message") == "rpc":
            assert entry["trace_id"] == trace_id and entry["span_id"] in by_id
            assert entry["replica"] == by_id[entry["span_id"]]["replica"]

    # `meshctl trace` renders it: tree, services, replicas, status codes, SQL.
    shown = subprocess.run(
        [sys.executable, "-m", "meshctl", "trace", "--run-dir", str(mesh.run_dir), "--trace", trace_id, "--width", "160"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert out.startswith(f"trace {trace_id}")
    for text in ("public POST /v1/orders", "OrderService/CreateOrder", "ProductService/ReserveStock",
                 "PaymentService/Charge", "INSERT INTO orders", create["replica"], "payments-"):  # fmt: skip
        assert text in out, f"{text!r} missing from:\n{out}"
    assert "└─ " in out and "█" in out and "log lines:" in out


def _access_lines(run_dir: Path, path: str) -> list[dict[str, Any]]:
    text = (run_dir / "logs" / "envoy.log").read_text()
    return [
        e
        for e in (json.loads(line) for line in text.splitlines() if line.startswith("{"))
        if e.get("path") == path
    ]


def test_a_trace_without_traceparent_starts_at_the_gateway_and_make_trace_shows_the_latest(
    mesh: RunningMesh,
) -> None:
    before = len(_access_lines(mesh.run_dir, "/v1/users:login"))
    flows.rest_user(mesh.rest)  # CreateUser, then Login
    deadline = time.monotonic() + SPANS_WAIT
    while len(logins := _access_lines(mesh.run_dir, "/v1/users:login")) == before:
        assert time.monotonic() < deadline, "no access-log line for the call"
        time.sleep(0.1)
    trace_id = _access_lines(mesh.run_dir, "/v1/users")[-1]["trace_id"]
    login_trace = logins[-1]["trace_id"]
    assert login_trace != trace_id
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
    spans = _wait_for_trace(mesh.run_dir, trace_id, {"shopmesh-envoy", "shopmesh-users"})
    roots = [s for s in spans if not s["parent_span_id"]]
    assert len(roots) == 1 and roots[0]["name"] == "ingress" and roots[0]["service"] == "shopmesh-envoy"
    assert any(s["name"] == "/shopmesh.user.v1.UserService/CreateUser" for s in spans)
    _wait_for_trace(mesh.run_dir, login_trace, {"shopmesh-envoy", "shopmesh-users"})
    latest = subprocess.run(
        [sys.executable, "-m", "meshctl", "trace", "--run-dir", str(mesh.run_dir), "--no-logs"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout.startswith(f"trace {login_trace}"), latest.stdout
    assert "UserService/Login" in latest.stdout


def test_red_metrics_move_by_the_calls_made_and_count_errors_under_their_code(mesh: RunningMesh) -> None:
    labels = {"grpc_service": "shopmesh.order.v1.OrderService", "grpc_method": "CreateOrder"}
    ok_before = service_metric(mesh, "orders", "grpc_server_handled_total", grpc_code="OK", **labels)
    seen_before = service_metric(mesh, "orders", "grpc_server_handling_seconds_count", **labels)
    missing = {"grpc_service": "shopmesh.product.v1.ProductService", "grpc_method": "GetProduct"}
    nf_before = service_metric(
        mesh, "products", "grpc_server_handled_total", grpc_code="NOT_FOUND", **missing
    )
    envoy_before = sample(scrape(mesh.endpoints.envoy_metrics, "/stats/prometheus"),
                           "envoy_cluster_grpc_5", envoy_cluster_name="products")  # fmt: skip

    _purchase(mesh)
    _purchase(mesh)
    for _ in range(3):
        assert mesh.rest.get(f"/v1/products/{uuid.uuid4().hex}").status == 404

    assert (
        service_metric(mesh, "orders", "grpc_server_handled_total", grpc_code="OK", **labels) == ok_before + 2
    )
    assert service_metric(mesh, "orders", "grpc_server_handling_seconds_count", **labels) == seen_before + 2
    after = service_metric(mesh, "products", "grpc_server_handled_total", grpc_code="NOT_FOUND", **missing)
    assert after == nf_before + 3
    # Envoy counts the gRPC status of what it proxied per cluster (grpc_stats), REST calls included.
    envoy_text = scrape(mesh.endpoints.envoy_metrics, "/stats/prometheus")
    assert sample(envoy_text, "envoy_cluster_grpc_5", envoy_cluster_name="products") == envoy_before + 3
    # Pool figures of every replica (SVC_PAYMENT_DB_POOL_SIZE: by default one per worker thread, 16), and
    # nothing but the two endpoints on Envoy's metrics listener.
    for address in mesh.endpoints.metrics["payments"]:
        text = scrape(address)
        assert sample(text, "shopmesh_db_pool_size") == 16 and "shopmesh_db_pool_checked_out" in text
    assert scrape(mesh.endpoints.envoy_metrics, "/ready").strip() == "LIVE"
    with pytest.raises(urllib.error.HTTPError) as refused:
        scrape(mesh.endpoints.envoy_metrics, "/clusters")
    assert refused.value.code == 404
    refused.value.close()


def test_no_password_token_or_card_number_in_any_log_after_purchases(mesh: RunningMesh) -> None:
    user, rest, token = _customer(mesh)
    product = _product(mesh)
    for card in (flows.APPROVING_CARD, flows.DECLINING_CARD):
        reply = rest.post("/v1/orders", flows.rest_order_body(user["name"], product, card=card))
        assert reply.status == 200, reply.text
    bad = flows.rest_order_body(user["name"], product)
    bad["payment"]["card_number"] = "4242424242424241"  # fails the Luhn check: an error path
    assert rest.post("/v1/orders", bad).status == 400
    time.sleep(1.5)  # the exporters' batches and the last log lines
    secrets = [flows.PASSWORD, token, token.split(".")[1], flows.APPROVING_CARD, flows.DECLINING_CARD,
               "4242424242424241"]  # fmt: skip
    files = [*(mesh.run_dir / "logs").glob("*.log"), *(mesh.run_dir / "traces").glob("*.jsonl")]
    assert any(p.name == "envoy.log" for p in files) and any(p.name == "spans.jsonl" for p in files)
    for path in files:
        text = path.read_text(errors="replace")
        for secret in secrets:
            assert secret not in text, f"{path.name} contains a secret"


@pytest.fixture(scope="module")
def unsampled_mesh(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningMesh]:
    """`make up --trace-sampling 0`: Envoy samples no new trace; the services follow its decision. Clients may
    force a trace with x-client-trace-id here (topology gateway.trust_client_trace_id; by default the public
    listener removes the header, tests/e2e/test_key_rotation.py)."""
    packed = conftest.mesh_topology
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            conftest, "mesh_topology", lambda base: packed(base).with_gateway(trust_client_trace_id=True)
        )
        with running_mesh(
            postgres, tmp_path_factory.mktemp("unsampled"), "unsampled", trace_sampling=0
        ) as running:
            yield running


def test_sampling_follows_envoys_decision_and_a_client_can_force_a_trace(unsampled_mesh: RunningMesh) -> None:
    mesh = unsampled_mesh
    methods = {
        "/shopmesh.order.v1.OrderService/CreateOrder",
        "/shopmesh.product.v1.ProductService/ReserveStock",
        "/shopmesh.payment.v1.PaymentService/Charge",
    }
    _purchase(mesh)  # no traceparent: Envoy does not sample it
    dropped, kept = uuid.uuid4().hex, uuid.uuid4().hex
    _purchase(mesh, f"00-{dropped}-{uuid.uuid4().hex[:16]}-00")  # the client decided: not sampled
    # Not recorded, but still one trace id through every hop: the log lines of all three services carry it.
    lines = _log_lines(mesh.run_dir, dropped, methods, "/v1/orders")
    assert methods <= {e.get("method") for _, e in lines if e.get("message") == "rpc"}
    assert {"orders", "products", "payments"} <= {name.split("-")[0] for name, _ in lines}
    client_span = uuid.uuid4().hex[:16]
    # Envoy's rate decides even over a sampled traceparent; a client forces a trace with x-client-trace-id.
    _purchase(mesh, f"00-{kept}-{client_span}-01", **{"x-client-trace-id": kept})
    spans = _wait_for_trace(
        mesh.run_dir,
        kept,
        {"shopmesh-envoy", "shopmesh-orders", "shopmesh-products", "shopmesh-payments"},
        caller_span=client_span,
    )
    assert {"shopmesh-envoy", "shopmesh-orders", "shopmesh-products", "shopmesh-payments"} <= {
        s["service"] for s in spans
    }
    # Spans arrive in order; the sampled trace is complete, so anything recorded before it has arrived too.
    assert {s["trace_id"] for s in read_spans(mesh.run_dir)} == {kept}
