"""A tiny OTLP/gRPC trace receiver for laptops: every span it receives becomes one JSON line in a file.

`make up` runs it on loopback (``python -m meshctl.otlp_sink --listen 127.0.0.1:9903 --out var/traces``) and
points Envoy's OpenTelemetry tracer and the services' OTLP exporters at it, so traces need no collector;
`python -m meshctl trace` reads what it wrote. With a real collector configured (OTEL_EXPORTER_OTLP_ENDPOINT)
the launcher does not start it.

One line per span (``spans.jsonl``; at `MAX_BYTES` it becomes ``spans.1.jsonl`` and a new file starts)::

    {"trace_id": "<32 hex>", "span_id": "<16 hex>", "parent_span_id": "<16 hex or empty>", "name": "...",
     "kind": "SERVER", "start_ns": ..., "end_ns": ..., "service": "shopmesh-orders", "replica": "orders-0",
     "status": {"code": "UNSET|OK|ERROR", "message": "..."}, "attributes": {...}, "events": [...]}
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent import futures
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

log = logging.getLogger("meshctl.otlp_sink")

SPANS_FILE = "spans.jsonl"
ROTATED_FILE = "spans.1.jsonl"
MAX_BYTES = 64 * 1024 * 1024
_KINDS = {value: name.removeprefix("SPAN_KIND_") for name, value in trace_pb2.Span.SpanKind.items()}
_STATUS = {value: name.removeprefix("STATUS_CODE_") for name, value in trace_pb2.Status.StatusCode.items()}


def _value(value: common_pb2.AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attributes(pairs: Iterable[common_pb2.KeyValue]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


def spans_of(request: trace_service_pb2.ExportTraceServiceRequest) -> Iterator[dict[str, Any]]:
    """The spans of one OTLP export, flattened into the JSON-line records (see the module docstring)."""
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = str(resource.get("service.name", "unknown"))
        replica = str(resource.get("service.instance.id", ""))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield {
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(),
                    "name": span.name,
                    "kind": _KINDS.get(span.kind, str(span.kind)),
                    "start_ns": span.start_time_unix_nano,
                    "end_ns": span.end_time_unix_nano,
                    "service": service,
                    "replica": replica,
                    "scope": scope_spans.scope.name,
                    "status": {
                        "code": _STATUS.get(span.status.code, "UNSET"),
                        "message": span.status.message,
                    },
                    "attributes": _attributes(span.attributes),
                    "events": [
                        {"name": e.name, "time_ns": e.time_unix_nano, "attributes": _attributes(e.attributes)}
                        for e in span.events
                    ],
                }


class SpanFile:
    """Appends span records to `<dir>/spans.jsonl`, one write and flush per export, rotating at MAX_BYTES."""

    def __init__(self, directory: Path, max_bytes: int = MAX_BYTES) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / SPANS_FILE
        self._lock = threading.Lock()
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, records: Iterable[dict[str, Any]]) -> int:
        lines = [json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in records]
        if not lines:
            return 0
        with self._lock:
            self._file.write("".join(lines))
            self._file.flush()
            if self._file.tell() >= self.max_bytes:
                self._file.close()
                self.path.replace(self.directory / ROTATED_FILE)
                self._file = self.path.open("a", encoding="utf-8")
        return len(lines)

    def close(self) -> None:
        with self._lock:
            self._file.close()


class TraceSink(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, out: SpanFile) -> None:
        self.out = out
        self.received = 0

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.received += self.out.write(spans_of(request))
        return trace_service_pb2.ExportTraceServiceResponse()


class Sink:
    """The receiver as an object: bound on construction, serving after `start`."""

    def __init__(self, listen: str, out_dir: Path) -> None:
        self.out = SpanFile(out_dir)
        self.servicer = TraceSink(self.out)
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="otlp-sink"),
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 32 * 1024 * 1024)],
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self.servicer, self.server)  # type: ignore[no-untyped-call]
        self.port = self.server.add_insecure_port(listen)
        if self.port == 0:
            raise OSError(f"otlp sink: cannot listen on {listen}")

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop(1).wait()
        self.out.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m meshctl.otlp_sink",
        description="Receive OTLP/gRPC traces and append every span as a JSON line to OUT/spans.jsonl.",
    )
    parser.add_argument(
        "--listen", default="127.0.0.1:9903", help="address to listen on (default 127.0.0.1:9903)"
    )
    parser.add_argument("--out", type=Path, default=Path("var/traces"), help="directory (default var/traces)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    try:
        sink = Sink(args.listen, args.out)
    except OSError as exc:
        log.error("%s", exc)
        return 1
    stopping = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    sink.start()
    log.info("otlp sink listening on %s, writing %s", args.listen, sink.out.path)
    stopping.wait()
    sink.stop()
    log.info("otlp sink stopped after %d spans", sink.servicer.received)
    return 0


if __name__ == "__main__":
    sys.exit(main())
