"""Observability of one service process: RED metrics, JSON logs with trace ids, spans, redaction.

A ServiceServer with a tiny generic service (no contracts, no auth) stands in for any service: the metrics,
logs and spans come from meshkit, whatever the servicer.
"""

from __future__ import annotations

import io
import json
import logging
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from meshkit import errors, logs
from meshkit.db import Database
from meshkit.logs import FIELDS, JsonFormatter, LineSink, RpcLine, SinkHandler, pretty, redact
from meshkit.server import ServiceServer
from meshkit.settings import load_server_settings
from meshkit.telemetry import Tracing, TracingSettings

CARD = "4242424242424242"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


# -- redaction ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"charge failed for card {CARD}", CARD),
        ("card 4242 4242 4242 4242 declined.", "4242 4242 4242 4242"),
        ("card 4000-0000-0000-0002: no", "4000-0000-0000-0002"),
        ("authorization: Bearer abcdefghijklmnop.qrstuvwx", "abcdefghijklmnop.qrstuvwx"),
        ("token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl here", "eyJhbGciOiJFUzI1NiJ9"),
        ("postgresql://shop:s3cret-pw@db:5432/orders unreachable", "s3cret-pw"),
        ("{'password': 'correct horse'} rejected", "correct"),
        ("password=hunter22&x=1", "hunter22"),
        ("cvc: 123", "123"),
    ],
)
def test_redact_removes_secrets(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert "[redacted]" in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "orders/4bf92f3577b34da6a3ce929d0e0e4736 created",
        "took 1234567890123 ns",  # 13 digits failing the Luhn check
        "price 12.50 USD, stock 10",
        "users.password_hash column",
    ],
)
def test_redact_keeps_ordinary_text(text: str) -> None:
    assert redact(text) == text


# -- the JSON formatter and the console view ---------------------------------------------------------------------


def _record(message: str, *args: Any, exc: BaseException | None = None, **fields: Any) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    record = logging.LogRecord(
        "svc", logging.ERROR if exc else logging.INFO, __file__, 1, message, args, exc_info
    )
    if fields:
        setattr(record, FIELDS, fields)
    return record


def test_json_lines_name_the_replica_and_carry_extra_fields() -> None:
    line = JsonFormatter("orders", "orders-1").format(_record("rpc", method="/a.B/C", code="OK"))
    entry = json.loads(line)
    assert entry["service"] == "orders" and entry["replica"] == "orders-1"
    assert entry["message"] == "rpc" and entry["method"] == "/a.B/C" and entry["code"] == "OK"
    assert entry["level"] == "INFO" and entry["time"].endswith("Z")
    assert "trace_id" not in entry  # no span is current


def test_a_traceback_never_shows_a_card_number() -> None:
    try:
        raise ValueError(f"gateway said no to {CARD} (password=hunter22)")
    except ValueError as exc:
        line = JsonFormatter("payments", "payments-0").format(_record("unexpected %s", CARD, exc=exc))
    assert CARD not in line and "hunter22" not in line
    entry = json.loads(line)
    assert "ValueError" in entry["exception"] and "[redacted]" in entry["message"]


def test_pretty_renders_service_and_access_lines_and_leaves_others() -> None:
    service = json.dumps(
        {"time": "2026-01-02T03:04:05.678Z", "level": "INFO", "service": "orders", "replica": "orders-0",
         "logger": "x", "message": "rpc", "method": "/shopmesh.order.v1.OrderService/CreateOrder",
         "code": "OK", "duration_ms": 12.5, "trace_id": TRACE_ID, "span_id": CLIENT_SPAN}
    )  # fmt: skip
    assert pretty(service) == (
        f"03:04:05.678 INFO  rpc /shopmesh.order.v1.OrderService/CreateOrder OK 12.5ms trace={TRACE_ID}"
    )
    access = json.dumps(
        {"start_time": "2026-01-02T03:04:05.000Z", "listener": "public", "method": "POST", "path": "/v1/orders",
         "response_code": 200, "duration_ms": 40, "upstream_cluster": "orders", "upstream_host": "127.0.0.1:1",
         "trace_id": TRACE_ID}
    )  # fmt: skip
    assert pretty(access) == (
        f"03:04:05.000 public POST /v1/orders 200 40ms -> orders 127.0.0.1:1 trace={TRACE_ID}"
    )
    assert pretty("[2026-01-01][warning] envoy text") == "[2026-01-01][warning] envoy text"
    assert pretty('{"not": "ours"}') == '{"not": "ours"}'


# -- one server, observed ----------------------------------------------------------------------------------------


@dataclass
class Observed:
    server: ServiceServer
    channel: grpc.Channel
    spans: InMemorySpanExporter
    logs: io.StringIO

    def call(self, method: str, metadata: tuple[tuple[str, str], ...] = ()) -> grpc.StatusCode:
        try:
            self.channel.unary_unary(
                f"/test.Echo/{method}",
                request_serializer=StringValue.SerializeToString,
                response_deserializer=StringValue.FromString,
            )(StringValue(value="x"), metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
        return grpc.StatusCode.OK

    def handled(self, method: str, code: str) -> float:
        value = self.server.metrics.registry.get_sample_value(
            "grpc_server_handled_total",
            {"grpc_service": "test.Echo", "grpc_method": method, "grpc_code": code},
        )
        return value or 0.0

    def finished_spans(self) -> list[Any]:
        self.server.tracing.provider.force_flush()
        return list(self.spans.get_finished_spans())

    def log_entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs.getvalue().splitlines() if line.startswith("{")]


def _echo_handlers(db: Database) -> grpc.GenericRpcHandler:
    def ok(request: StringValue, context: grpc.ServicerContext) -> StringValue:
        with db.snapshot() as conn:
            conn.execute(sa.text("SELECT 1 AS answer"))
        return request

    def missing(request: StringValue, context: grpc.ServicerContext) -> StringValue:
        raise errors.NotFound("no such thing", reason="THING_NOT_FOUND")

    def crash(request: StringValue, context: grpc.ServicerContext) -> StringValue:
        raise RuntimeError(f"card {CARD} exploded")

    return grpc.method_handlers_generic_handler(
        "test.Echo",
        {
            name: grpc.unary_unary_rpc_method_handler(
                fn,
                request_deserializer=StringValue.FromString,
                response_serializer=StringValue.SerializeToString,
            )
            for name, fn in {"Ok": ok, "Missing": missing, "Crash": crash}.items()
        },
    )


@pytest.fixture
def observed(tmp_path: Path) -> Iterator[Observed]:
    settings = load_server_settings(
        "echo", "SVC_ECHO", 0, {"SHOPMESH_REPLICA": "echo-0", "SHOPMESH_DATA_DIR": str(tmp_path)}
    )
    db = Database(f"sqlite:///{tmp_path / 'echo.sqlite3'}")
    spans = InMemorySpanExporter()
    tracing = Tracing(settings, TracingSettings("otlp"), exporter=spans)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("echo", "echo-0"))
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    server = ServiceServer(
        settings,
        db=db,
        services=["test.Echo"],
        register=lambda s: s.add_generic_rpc_handlers((_echo_handlers(db),)),
        tracing=tracing,
    )
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield Observed(server, channel, spans, stream)
    finally:
        channel.close()
        server.stop(grace=0)
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_red_metrics_count_calls_by_final_code(observed: Observed) -> None:
    for method in ("Ok", "Ok", "Missing", "Crash"):
        observed.call(method)
    assert observed.handled("Ok", "OK") == 2
    assert observed.handled("Missing", "NOT_FOUND") == 1
    assert observed.handled("Crash", "INTERNAL") == 1
    registry = observed.server.metrics.registry
    labels = {"grpc_service": "test.Echo", "grpc_method": "Ok"}
    assert registry.get_sample_value("grpc_server_started_total", labels) == 2
    assert registry.get_sample_value("grpc_server_handling_seconds_count", labels) == 2
    observed.call("Ok")
    assert observed.handled("Ok", "OK") == 3


def test_metrics_endpoint_serves_red_pool_and_identity_but_not_health_checks(observed: Observed) -> None:
    observed.call("Missing")
    health_pb2_grpc.HealthStub(observed.channel).Check(health_pb2.HealthCheckRequest(), timeout=5)  # type: ignore[no-untyped-call]
    port = observed.server.metrics.port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    assert (
        'grpc_server_handled_total{grpc_code="NOT_FOUND",grpc_method="Missing",grpc_service="test.Echo"} 1.0'
        in text
    )
    assert 'shopmesh_service_info{replica="echo-0",service="echo"} 1.0' in text
    assert "shopmesh_db_pool_size " in text and "shopmesh_db_pool_checked_out " in text
    assert "grpc.health" not in text and "_created" not in text


def test_one_log_line_per_rpc_with_the_span_ids(observed: Observed) -> None:
    observed.call("Ok", (("traceparent", f"00-{TRACE_ID}-{CLIENT_SPAN}-01"),))
    observed.call("Missing")
    rpc = [e for e in observed.log_entries() if e["message"] == "rpc"]
    assert [(e["method"], e["code"]) for e in rpc] == [
        ("/test.Echo/Ok", "OK"),
        ("/test.Echo/Missing", "NOT_FOUND"),
    ]
    assert rpc[0]["trace_id"] == TRACE_ID and isinstance(rpc[0]["duration_ms"], float)
    server_span = next(s for s in observed.finished_spans() if s.name == "/test.Echo/Ok")
    assert rpc[0]["span_id"] == format(server_span.context.span_id, "016x")
    assert rpc[1]["trace_id"] != TRACE_ID  # a call without traceparent starts its own trace


def test_an_unexpected_error_is_logged_with_its_traceback_but_without_secrets(observed: Observed) -> None:
    assert observed.call("Crash") == grpc.StatusCode.INTERNAL
    text = observed.logs.getvalue()
    assert CARD not in text
    crash = next(e for e in observed.log_entries() if e["message"].startswith("unexpected error"))
    assert "RuntimeError: card [redacted] exploded" in crash["exception"]
    assert crash["trace_id"]


def test_server_span_continues_the_callers_trace_with_its_status_and_sql(observed: Observed) -> None:
    observed.call("Ok", (("traceparent", f"00-{TRACE_ID}-{CLIENT_SPAN}-01"),))
    observed.call("Missing")
    spans = observed.finished_spans()
    ok = next(s for s in spans if s.name == "/test.Echo/Ok")
    assert format(ok.context.trace_id, "032x") == TRACE_ID
    assert ok.parent is not None and format(ok.parent.span_id, "016x") == CLIENT_SPAN
    assert ok.resource.attributes["service.instance.id"] == "echo-0"
    sql = [s for s in spans if s.attributes.get("db.statement") == "SELECT 1 AS answer"]
    assert len(sql) == 1 and sql[0].parent is not None and sql[0].parent.span_id == ok.context.span_id
    assert sql[0].attributes["db.system"] == "sqlite" and sql[0].name == "SELECT"
    missing = next(s for s in spans if s.name == "/test.Echo/Missing")
    # The call path reports ServiceErrors with abort_with_status; the span still gets the code.
    assert missing.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]


def test_health_checks_make_no_span_and_background_sql_no_trace(observed: Observed) -> None:
    health_pb2_grpc.HealthStub(observed.channel).Check(health_pb2.HealthCheckRequest(), timeout=5)  # type: ignore[no-untyped-call]
    observed.server.db.ping()  # what the health loop does, outside any call
    assert observed.finished_spans() == []


def test_client_interceptor_sends_traceparent_of_its_span(observed: Observed) -> None:
    tracing = observed.server.tracing
    channel = grpc.intercept_channel(
        grpc.insecure_channel(f"127.0.0.1:{observed.server.port}"), *tracing.client_interceptors()
    )
    try:
        with tracing.provider.get_tracer("test").start_as_current_span("caller") as caller:
            channel.unary_unary(
                "/test.Echo/Ok",
                request_serializer=StringValue.SerializeToString,
                response_deserializer=StringValue.FromString,
            )(StringValue(value="x"), timeout=10)
    finally:
        channel.close()
    spans = {s.name: s for s in observed.finished_spans() if s.name != "SELECT"}
    client = next(
        s for s in observed.finished_spans() if s.kind.name == "CLIENT" and s.name == "/test.Echo/Ok"
    )
    server = next(s for s in observed.finished_spans() if s.kind.name == "SERVER")
    assert client.parent is not None and client.parent.span_id == caller.get_span_context().span_id
    assert server.parent is not None and server.parent.span_id == client.context.span_id
    assert server.context.trace_id == caller.get_span_context().trace_id
    assert client.attributes["rpc.grpc.status_code"] == 0 and "caller" in spans


# -- settings ----------------------------------------------------------------------------------------------------


def test_tracing_follows_the_standard_variables() -> None:
    assert TracingSettings.from_env({}).exporter == "none"
    assert TracingSettings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}) == TracingSettings(
        "otlp"
    )
    http = TracingSettings.from_env(
        {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        }
    )
    assert http == TracingSettings("otlp", "http/protobuf")
    assert (
        TracingSettings.from_env(
            {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"}
        ).exporter
        == "none"
    )


def test_http_protocol_picks_the_otlp_http_exporter() -> None:
    settings = load_server_settings("users", "SVC_USER", 0, {})
    tracing = Tracing(settings, TracingSettings("otlp", "http/protobuf"))
    try:
        processor = tracing.provider._active_span_processor._span_processors[0]
        exporter = processor._batch_processor._exporter
        assert type(exporter).__module__ == "opentelemetry.exporter.otlp.proto.http.trace_exporter"
    finally:
        tracing.shutdown()


def test_metrics_port_defaults_beside_the_grpc_port() -> None:
    assert load_server_settings("orders", "SVC_ORDER", 50300, {}).metrics_port == 51300
    assert (
        load_server_settings("orders", "SVC_ORDER", 50300, {"SVC_ORDER_PORT": "50301"}).metrics_port == 51301
    )
    assert (
        load_server_settings("orders", "SVC_ORDER", 50300, {"SVC_ORDER_METRICS_PORT": "9464"}).metrics_port
        == 9464
    )
    assert load_server_settings("orders", "SVC_ORDER", 0, {}).metrics_port == 0


def test_a_call_its_caller_did_not_sample_records_no_span_but_keeps_the_trace_id(observed: Observed) -> None:
    unsampled = f"00-{TRACE_ID}-{CLIENT_SPAN}-00"
    for _ in range(2):  # the second call takes the cached handler
        assert observed.call("Ok", (("traceparent", unsampled),)) == grpc.StatusCode.OK
    assert observed.call("Missing", (("traceparent", unsampled),)) == grpc.StatusCode.NOT_FOUND
    assert [s for s in observed.finished_spans() if s.context.trace_id == int(TRACE_ID, 16)] == []
    rpc = [e for e in observed.log_entries() if e["message"] == "rpc"]
    assert [(e["code"], e["trace_id"]) for e in rpc] == [("OK", TRACE_ID)] * 2 + [("NOT_FOUND", TRACE_ID)]
    assert observed.handled("Ok", "OK") == 2 and observed.handled("Missing", "NOT_FOUND") == 1
    # A sampled caller, and one with a malformed header, are traced as before (SQL span included).
    observed.call("Ok", (("traceparent", f"00-{TRACE_ID}-{CLIENT_SPAN}-01"),))
    observed.call("Ok", (("traceparent", "garbage"),))
    observed.call("Ok", (("traceparent", "00-abc-def-00"),))  # looks unsampled, is no trace context at all
    names = [s.name for s in observed.finished_spans()]
    assert names.count("/test.Echo/Ok") == 3 and "SELECT" in names


def test_new_traces_are_decided_once_at_the_configured_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A direct call (no traceparent) is sampled before its span exists; a recorded one is recorded once
    (deciding again inside the instrumentation would record the square of the rate)."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.5")
    settings = load_server_settings("echo", "SVC_ECHO", 0, {"SHOPMESH_REPLICA": "echo-0"})
    db = Database(f"sqlite:///{tmp_path / 'echo.sqlite3'}")
    spans = InMemorySpanExporter()
    tracing = Tracing(settings, TracingSettings("otlp"), exporter=spans)
    assert tracing.follows_caller
    server = ServiceServer(
        settings,
        db=db,
        services=["test.Echo"],
        register=lambda s: s.add_generic_rpc_handlers((_echo_handlers(db),)),
        tracing=tracing,
    )
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        call = channel.unary_unary(
            "/test.Echo/Ok",
            request_serializer=StringValue.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        for _ in range(400):
            call(StringValue(value="x"), timeout=10)
        tracing.provider.force_flush()
        recorded = [s for s in spans.get_finished_spans() if s.name == "/test.Echo/Ok"]
        # Binomial(400, 0.5): 200 +- 10; at 0.25 (sampled twice) it would be 100 +- 9.
        assert 140 < len(recorded) < 260, len(recorded)
        assert all(s.parent is None for s in recorded)
        sql = [s for s in spans.get_finished_spans() if s.name == "SELECT"]
        assert len(sql) == len(recorded)  # a recorded call's statements are recorded with it, nobody else's
    finally:
        channel.close()
        server.stop(grace=0)


def test_the_fast_rpc_line_has_the_formatters_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service's RPC lines skip the logging machinery (meshkit.logs.RpcLine); they must read exactly like
    the JsonFormatter's records, trace ids included, and reach the stream in order with the others."""
    stream = io.StringIO()
    sink = LineSink(stream)
    handler = SinkHandler(sink, JsonFormatter("products", "products-0"))
    monkeypatch.setattr(logs, "_fast", handler)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [handler])
    old_level = root.level
    root.setLevel(logging.INFO)  # setLevel, not setattr: it clears the loggers' isEnabledFor caches
    monkeypatch.setattr(root, "level", logging.INFO)  # restored by monkeypatch; the caches on the next set
    line = RpcLine("/shopmesh.product.v1.ProductService/GetProduct")
    logging.getLogger("meshkit.other").info("before")
    parent = trace.NonRecordingSpan(
        trace.SpanContext(int(TRACE_ID, 16), int(CLIENT_SPAN, 16), is_remote=True)
    )
    with trace.use_span(parent):
        line.write(logging.INFO, grpc.StatusCode.OK, 0.0012345)
    line.write(logging.WARNING, grpc.StatusCode.UNAVAILABLE, 0.5)  # through logging, and written at once
    entries = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert [e["message"] for e in entries] == ["before", "rpc", "rpc"]
    fast, slow = entries[1], entries[2]
    assert list(fast) == ["time", "level", "service", "replica", "logger", "message", "method", "code",
                          "duration_ms", "trace_id", "span_id"]  # fmt: skip
    assert list(slow)[:9] == list(fast)[:9]
    assert fast["trace_id"] == TRACE_ID and fast["span_id"] == CLIENT_SPAN and fast["duration_ms"] == 1.234
    assert (slow["level"], slow["code"]) == ("WARNING", "UNAVAILABLE")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fast["time"])
    root.setLevel(old_level)
