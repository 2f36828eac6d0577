"""Structured logs: one JSON object per line, tagged with the replica and the current trace.

Every record a service writes (startup, shutdown, one line per RPC, errors with their traceback) goes to
stderr as a JSON object::

    {"time": "2026-01-02T03:04:05.678Z", "level": "INFO", "service": "orders", "replica": "orders-0",
     "logger": "meshkit.metrics", "message": "rpc", "method": "/shopmesh.order.v1.OrderService/CreateOrder",
     "code": "OK", "duration_ms": 12.3, "trace_id": "4bf9...", "span_id": "00f0..."}

`trace_id`/`span_id` come from the OpenTelemetry span current when the record was made, so a log line can be
found from a trace and the other way round. Messages and tracebacks pass through `redact` first: whatever an
exception message carries, a card number, a bearer token / JWT, a password assignment or the password of a
database URL never reaches the log. Request bodies are never logged at all.

monitoring/log-line.schema.json describes these lines, and Envoy's (meshctl.envoy_observability writes its access
and own log lines in the same shape), for a log collector. `pretty` turns such a line into the compact text
`make up` shows on the console; the per-process files keep the raw JSON.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import json
import logging
import re
import sys
import threading
import time
from typing import Any

from opentelemetry import trace

from meshkit.cards import luhn_ok
from meshkit.settings import ServerSettings

# -- redaction -------------------------------------------------------------------------------------------------

# 13 to 19 digits, optionally grouped by single spaces or dashes (how card numbers are written).
_PAN = re.compile(r"(?<!\w)(?<!\d\.)\d(?:[ -]?\d){12,18}(?!\w)(?!\.\d)")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE)
_ASSIGNED_SECRET = re.compile(
    r"(?i)\b((?:password|passwd|secret|access_token|refresh_token|card_number|cvc)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\"'\s,;}&)]+"
)
REDACTED = "[redacted]"


def _pan(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return REDACTED if luhn_ok(digits) else match.group(0)


def redact(text: str) -> str:
    """`text` with card numbers, tokens, password assignments and URL passwords replaced."""
    if not text:
        return text
    text = _JWT.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + "@", text)
    text = _ASSIGNED_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    return _PAN.sub(_pan, text)


# -- the JSON formatter ----------------------------------------------------------------------------------------

FIELDS = "shopmesh"
"""The `extra` key whose dict is merged into the JSON object: log.info("rpc", extra={FIELDS: {...}})."""


def _current_ids() -> tuple[str, str] | None:
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def __init__(self, service: str, replica: str) -> None:
        super().__init__()
        self.service = service
        self.replica = replica
        self.origin = f'"service": {json.dumps(service)}, "replica": {json.dumps(replica)}'
        """The line's service and replica fields, as JSON (RpcLine writes them as they are)."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, dt.UTC)
        entry: dict[str, Any] = {
            "time": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
            "level": record.levelname,
            "service": self.service,
            "replica": self.replica,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            entry.update(fields)
        ids = _current_ids()
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, default=str, ensure_ascii=False)


class LineSink:
    """Log lines on their way to a stream, written in batches: one write per `interval` instead of one per line
    (a line per RPC made the write and the handler's lock a tenth of a cached read's CPU). A warning or worse is
    written at once with everything before it; a process killed with SIGKILL may lose the last `interval`."""

    def __init__(self, stream: Any, interval: float = 0.05) -> None:
        self._stream = stream
        self._interval = interval
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-sink", daemon=True)
        self._thread.start()
        atexit.register(self.flush)

    def add(self, line: str, urgent: bool = False) -> None:
        with self._lock:
            self._lines.append(line)
        if urgent:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
            if lines:
                try:
                    self._stream.write("\n".join(lines) + "\n")
                    self._stream.flush()
                except (OSError, ValueError):  # the reader is gone (the launcher stopped): nothing to do
                    pass

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            if self._lines:
                self.flush()


class SinkHandler(logging.Handler):
    """A logging handler writing formatted records to a LineSink."""

    def __init__(self, sink: LineSink, formatter: JsonFormatter) -> None:
        super().__init__()
        self.sink = sink
        self.json = formatter
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink.add(self.format(record), urgent=record.levelno >= logging.WARNING)
        except Exception:
            self.handleError(record)


_fast: SinkHandler | None = None
"""The process's handler when setup_logging installed it alone: RPC lines then skip the logging machinery."""
_RPC_LOGGER = logging.getLogger("meshkit.calls")


@functools.lru_cache(maxsize=4)
def _second(epoch_second: int) -> str:
    """The ISO 8601 date and time of a whole second, formatted once per second rather than once per line."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_second))


class RpcLine:
    """The one log line of each call of `method`, in the JsonFormatter's shape.

    With setup_logging's handler (a service process) the line is put together directly, for a fraction of a
    LogRecord's cost; anywhere else (a test's own handler) it goes through logging as any record.
    """

    def __init__(self, method: str) -> None:
        self.method = method
        self._middle = json.dumps(method, ensure_ascii=False)

    def write(self, level: int, code: Any, seconds: float) -> None:
        fast = _fast
        if not _RPC_LOGGER.isEnabledFor(level):
            return
        ms = round(seconds * 1000, 3)
        if fast is None or level != logging.INFO:
            _RPC_LOGGER.log(
                level, "rpc", extra={FIELDS: {"method": self.method, "code": code.name, "duration_ms": ms}}
            )
            return
        now = time.time()
        stamp = f"{_second(int(now))}.{int(now * 1000) % 1000:03d}Z"
        ids = _current_ids()
        tail = f', "trace_id": "{ids[0]}", "span_id": "{ids[1]}"}}' if ids is not None else "}"
        fast.sink.add(
            f'{{"time": "{stamp}", "level": "INFO", {fast.json.origin}, "logger": "meshkit.calls", '
            f'"message": "rpc", "method": {self._middle}, "code": "{code.name}", "duration_ms": {ms}{tail}'
        )


def setup_logging(settings: ServerSettings) -> None:
    """JSON lines on stderr for the whole process (the launcher and Kubernetes collect stderr)."""
    global _fast
    formatter = JsonFormatter(settings.service, settings.replica)
    handler = SinkHandler(LineSink(sys.stderr), formatter)
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    _fast = handler


# -- the console view ------------------------------------------------------------------------------------------

_SKIP = {
    "time",
    "level",
    "service",
    "replica",
    "logger",
    "message",
    "exception",
    "trace_id",
    "span_id",
    "source",
}


def _short_trace(entry: dict[str, Any], key: str = "trace_id") -> str:
    trace_id = entry.get(key)
    return f" trace={trace_id}" if isinstance(trace_id, str) and trace_id not in ("", "-") else ""


def _pretty_service(entry: dict[str, Any]) -> str:
    time = str(entry.get("time", ""))[11:23]
    level = str(entry.get("level", "")).upper()  # Envoy's own lines spell it in lower case
    if entry.get("message") == "rpc" and "method" in entry:
        text = f"rpc {entry['method']} {entry.get('code', '?')} {entry.get('duration_ms', '?')}ms"
    else:
        extras = " ".join(f"{k}={v}" for k, v in entry.items() if k not in _SKIP)
        text = f"{entry.get('message', '')}" + (f" {extras}" if extras else "")
    lines = [f"{time} {level:<5} {text}{_short_trace(entry)}"]
    if entry.get("exception"):
        lines += [f"    {line}" for line in str(entry["exception"]).splitlines()]
    return "\n".join(lines)


def _pretty_access(entry: dict[str, Any]) -> str:
    time = str(entry.get("time") or entry.get("start_time", ""))[11:23]  # start_time: before the log schema
    grpc = entry.get("grpc_status")
    grpc_text = f" grpc={grpc}" if grpc not in (None, "", "-") else ""
    upstream = entry.get("upstream_host") or "-"
    return (
        f"{time} {entry.get('listener', 'access')} {entry.get('method', '')} {entry.get('path', '')} "
        f"{entry.get('response_code', '')}{grpc_text} {entry.get('duration_ms', '?')}ms "
        f"-> {entry.get('upstream_cluster', '-')} {upstream}{_short_trace(entry)}"
    )


def pretty(line: str) -> str:
    """A service's JSON log line, an Envoy access-log line or one of Envoy's own as compact text; anything else
    unchanged."""
    if not line.startswith("{"):
        return line
    try:
        entry = json.loads(line)
    except ValueError:
        return line
    if not isinstance(entry, dict):
        return line
    # Access lines first: they have the common fields too (monitoring/log-line.schema.json).
    if "response_code" in entry and "path" in entry:
        return _pretty_access(entry)
    if "message" in entry and "level" in entry and "time" in entry:
        return _pretty_service(entry)
    return line


__all__ = ["FIELDS", "JsonFormatter", "LineSink", "RpcLine", "pretty", "redact", "setup_logging"]
