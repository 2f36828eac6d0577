"""The local trace story without a mesh: the OTLP sink writes what exporters send, `meshctl trace` renders a
known trace (a real CreateOrder captured from the e2e mesh, tests/golden/trace_run) exactly as committed."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from meshctl import trace
from meshctl.otlp_sink import ROTATED_FILE, SPANS_FILE, Sink, SpanFile

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
RUN = GOLDEN / "trace_run"
WATERFALL = GOLDEN / "trace_waterfall.txt"
TRACE_ID = "6dbca5dc55154365b5ef4686a93970af"


def _shown(run_dir: Path, trace_id: str) -> str:
    records = trace.load_trace(run_dir, trace_id)
    return (
        trace.render(records, width=130, mask_ids=True)
        + "\n"
        + trace.render_logs(trace.log_lines(run_dir, trace_id), True, trace_id)
    )


def test_a_known_trace_renders_as_the_golden_waterfall() -> None:
    shown = _shown(RUN, TRACE_ID)
    if os.environ.get("SHOPMESH_UPDATE_GOLDEN") == "1":
        WATERFALL.write_text(shown)
    assert shown == WATERFALL.read_text(), "run with SHOPMESH_UPDATE_GOLDEN=1 to accept a deliberate change"
    assert TRACE_ID not in shown


def test_the_latest_trace_is_found_and_bad_ids_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert trace.latest_trace_id(RUN) == TRACE_ID
    args = argparse.Namespace(trace="", run_dir=str(RUN), width=130, no_logs=True, mask_ids=False)
    assert trace.run(args) == 0
    assert capsys.readouterr().out.startswith(f"trace {TRACE_ID}")
    assert trace.run(argparse.Namespace(**{**vars(args), "trace": "not-an-id"})) == 2
    assert trace.run(argparse.Namespace(**{**vars(args), "trace": "0" * 32})) == 1
    assert trace.run(argparse.Namespace(**{**vars(args), "run_dir": str(tmp_path)})) == 1
    err = capsys.readouterr().err
    assert "not a 32-hex trace id" in err and "is not in" in err and "no spans under" in err


def test_status_names_grpc_codes_then_http_then_span_status() -> None:
    def span(attributes: dict[str, object], code: str = "UNSET") -> trace.Span:
        return trace.Span({"attributes": attributes, "status": {"code": code}})

    assert trace.status_of(span({"rpc.grpc.status_code": 5})) == "NOT_FOUND"
    assert trace.status_of(span({"grpc.status_code": "14"})) == "UNAVAILABLE"
    assert trace.status_of(span({"http.status_code": "404"})) == "HTTP 404"
    assert trace.status_of(span({}, "ERROR")) == "ERROR"
    assert trace.status_of(span({})) == "-"


def test_the_sink_writes_every_exported_span_as_a_json_line(tmp_path: Path) -> None:
    sink = Sink("127.0.0.1:0", tmp_path)
    sink.start()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "shopmesh-x", "service.instance.id": "x-3"})
    )
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{sink.port}", insecure=True)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    try:
        with tracer.start_as_current_span("outer", kind=SpanKind.SERVER) as outer:
            outer.set_attribute("rpc.grpc.status_code", 0)
            with tracer.start_as_current_span("SELECT t", kind=SpanKind.CLIENT) as inner:
                inner.set_attribute("db.statement", "SELECT 1")
                inner.set_status(Status(StatusCode.ERROR, "boom"))
    finally:
        provider.shutdown()
        sink.stop()
    records = [json.loads(line) for line in (tmp_path / SPANS_FILE).read_text().splitlines()]
    assert [r["name"] for r in records] == ["SELECT t", "outer"]
    inner_r, outer_r = records
    assert inner_r["trace_id"] == outer_r["trace_id"] == format(outer.get_span_context().trace_id, "032x")
    assert inner_r["parent_span_id"] == outer_r["span_id"] and outer_r["parent_span_id"] == ""
    assert inner_r["kind"] == "CLIENT" and outer_r["kind"] == "SERVER"
    assert inner_r["status"] == {"code": "ERROR", "message": "boom"}
    assert inner_r["attributes"] == {"db.statement": "SELECT 1"}
    assert outer_r["service"] == "shopmesh-x" and outer_r["replica"] == "x-3"
    assert outer_r["end_ns"] >= outer_r["start_ns"] > 0


def test_the_span_file_rotates_and_the_reader_reads_both(tmp_path: Path) -> None:
    out = SpanFile(tmp_path / "traces", max_bytes=300)
    record = {"trace_id": "a" * 32, "span_id": "b" * 16, "parent_span_id": "", "name": "one",
              "start_ns": 1, "end_ns": 2, "service": "shopmesh-users", "attributes": {}}  # fmt: skip
    out.write([record, {**record, "span_id": "c" * 16, "parent_span_id": "b" * 16, "name": "two"}])
    out.write([{**record, "trace_id": "d" * 32, "start_ns": 5, "end_ns": 6}])
    out.close()
    assert (tmp_path / "traces" / ROTATED_FILE).is_file()
    assert trace.latest_trace_id(tmp_path) == "d" * 32
    assert {r["name"] for r in trace.load_trace(tmp_path, "a" * 32)} == {"one", "two"}
