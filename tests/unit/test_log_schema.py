"""The log lines' schema (monitoring/log-line.schema.json, JSON Schema 2020-12) against real lines: the ones
meshkit.logs writes (a plain line, an event's fields, an RPC line by either path, an error with its traceback,
inside a trace), and a real Envoy's, access lines and its own, on the chart's configuration. And the schema's
fields are what the writers write: every field of Envoy's rendered format, every extra a service logs."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import pytest
from opentelemetry import trace

from meshctl import envoy_observability
from meshkit import logs
from meshkit.logs import FIELDS, JsonFormatter, LineSink, RpcLine, SinkHandler, pretty
from tests.support.exported_metrics import chart_envoy

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "monitoring" / "log-line.schema.json"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def assert_valid(line: str) -> dict[str, Any]:
    """A line is one JSON object the schema accepts, whose time is a real instant."""
    entry = json.loads(line)
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator().iter_errors(entry)]
    assert errors == [], f"{line}\n" + "\n".join(errors)
    dt.datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    return dict(entry)


def _record(
    message: str, level: int = logging.INFO, exc: BaseException | None = None, **fields: Any
) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    record = logging.LogRecord("svc_order.services", level, __file__, 1, message, (), exc_info)
    if fields:
        setattr(record, FIELDS, fields)
    return record


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema())
    for name, spec in schema()["properties"].items():
        assert spec.get("description", "").strip(), f"{name} is undocumented"


def test_service_lines_follow_the_schema() -> None:
    formatter = JsonFormatter("orders", "orders-0")
    plain = assert_valid(formatter.format(_record("orders/o-1 CONFIRMED")))
    assert set(plain) == {"time", "level", "service", "replica", "logger", "message"}
    assert_valid(formatter.format(_record("orders-0 serving", event="start", port=50100, metrics_port=50105)))
    assert_valid(formatter.format(_record("stopped", event="stop")))
    consume = {
        "event": "consume", "consumer": "notifications-orders", "ce_id": "e-1",
        "ce_type": "shopmesh.order.v1.OrderConfirmed", "ce_subject": "orders/o-1", "outcome": "processed",
        "deliveries": 1, "duration_ms": 3.25,
    }  # fmt: skip
    assert_valid(formatter.format(_record("consumed", **consume)))
    parked = {"event": "dead_letter", "consumer": "c", "ce_id": "", "ce_type": "unreadable"}
    assert_valid(formatter.format(_record("parked", logging.ERROR, **parked)))
    mail = {
        "event": "mail",
        "kind": "order_confirmed",
        "resource": "orders/o-1",
        "message_id": "e-1",
        "to": "/x",
    }
    assert_valid(formatter.format(_record("sent", **mail)))
    rpc = {"method": "/shopmesh.order.v1.OrderService/CreateOrder", "code": "OK", "duration_ms": 12.5}
    record = _record("rpc", **rpc)
    record.name = "meshkit.calls"
    assert_valid(formatter.format(record))


def test_an_error_with_its_traceback_inside_a_trace_follows_the_schema() -> None:
    parent = trace.NonRecordingSpan(trace.SpanContext(int(TRACE_ID, 16), int(SPAN_ID, 16), is_remote=True))
    with trace.use_span(parent):
        try:
            raise RuntimeError("the payments database went away")
        except RuntimeError as exc:
            line = JsonFormatter("payments", "payments-1").format(_record("unexpected", logging.ERROR, exc))
    entry = assert_valid(line)
    assert entry["level"] == "ERROR" and "RuntimeError" in entry["exception"]
    assert (entry["trace_id"], entry["span_id"]) == (TRACE_ID, SPAN_ID)


def test_the_fast_rpc_line_follows_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    handler = SinkHandler(LineSink(stream), JsonFormatter("products", "products-0"))
    monkeypatch.setattr(logs, "_fast", handler)
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [handler])
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        line = RpcLine("/shopmesh.product.v1.ProductService/GetProduct")
        line.write(logging.INFO, grpc.StatusCode.OK, 0.0012)  # the direct path
        line.write(logging.WARNING, grpc.StatusCode.UNAVAILABLE, 0.5)  # through logging
        handler.sink.flush()
    finally:
        root.setLevel(old_level)
    entries = [assert_valid(x) for x in stream.getvalue().splitlines()]
    assert [e["code"] for e in entries] == ["OK", "UNAVAILABLE"]


def test_a_missing_field_or_a_wrong_type_is_refused() -> None:
    good = json.loads(JsonFormatter("users", "users-0").format(_record("hello")))
    check = validator()
    assert check.is_valid(good)
    for broken in (
        {k: v for k, v in good.items() if k != "replica"},  # a service line must name its replica
        {**good, "level": "NOTICE"},
        {**good, "time": "2026-01-02 03:04:05"},
        {**good, "trace_id": "not-hex"},
        {**good, "port": "50100"},  # a field keeps one type everywhere
        {**good, "surprise": 1},  # a new field gets documented here first
    ):
        assert not check.is_valid(broken), broken


def test_real_envoy_lines_follow_the_schema() -> None:
    """Envoy on the chart's configuration writes its access lines and its own as the services write theirs."""
    run = chart_envoy()
    entries = [assert_valid(line) for line in run.log]
    access = [e for e in entries if e["logger"] == "envoy.access"]
    own = [e for e in entries if e["logger"] != "envoy.access"]
    assert access and own
    assert all(e["service"] == "envoy" and e["replica"] for e in access)
    assert all(e["message"] == f"{e['method']} {e['path']} {e['response_code']}" for e in access)
    assert all("upstream_host" not in e for e in access if e["response_flags"] == "UH")  # no null fields
    # The console still renders both kinds compactly.
    for line in run.log:
        assert not pretty(line).startswith("{"), line


def test_the_schema_documents_every_field_envoy_and_the_services_write() -> None:
    documented = set(schema()["properties"])
    assert set(envoy_observability.ACCESS_LOG_FORMAT) | {"listener"} <= documented
    assert set(envoy_observability.APPLICATION_LOG_FORMAT) <= documented
    # Every extra a service logs (log.x(..., extra={FIELDS: {...}})), found in the code.
    logged: set[str] = set()
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in {"meshkit", "svc_user", "svc_product", "svc_order", "svc_payment",
                                           "svc_notification"}:  # fmt: skip
            for block in re.findall(r"FIELDS: \{(.*?)\}", path.read_text(), re.DOTALL):
                logged |= set(re.findall(r'"([a-z_]+)":', block))
    assert {"event", "consumer", "method", "duration_ms", "kind"} <= logged
    assert logged - documented == set()
