"""`make trace`: one trace from the local sink's files, as a waterfall, with the log lines it produced.

``python -m meshctl trace [--trace ID] [--run-dir var]`` reads RUN_DIR/traces/spans.jsonl (written by
meshctl.otlp_sink) and prints the span tree: per span its service, replica, duration, status (gRPC code,
else HTTP status, else the span's own status), a bar on the trace's time line, and under each database span its
SQL statement. Without --trace it shows the most recently started trace. Then come the log lines of every
process (RUN_DIR/logs/*.log) that carry the trace id.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshkit.logs import pretty

SPAN_FILES = ("spans.1.jsonl", "spans.jsonl")  # oldest first
TAIL_BYTES = 2 * 1024 * 1024
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
GRPC_CODES = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
    "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
]  # fmt: skip


class TraceError(RuntimeError):
    """No spans, or no such trace (the message says what to do)."""


@dataclass
class Span:
    record: dict[str, Any]
    children: list[Span] = field(default_factory=list)

    @property
    def start(self) -> int:
        return int(self.record.get("start_ns", 0))

    @property
    def end(self) -> int:
        return max(int(self.record.get("end_ns", 0)), self.start)

    @property
    def attributes(self) -> dict[str, Any]:
        return dict(self.record.get("attributes") or {})


def _span_files(run_dir: Path) -> list[Path]:
    return [p for p in (run_dir / "traces" / name for name in SPAN_FILES) if p.is_file()]


def _records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut by rotation or by reading a tail
        if isinstance(record, dict) and "trace_id" in record:
            yield record


def _tail(path: Path, size: int) -> list[str]:
    with path.open("rb") as f:
        f.seek(0, 2)
        length = f.tell()
        f.seek(max(0, length - size))
        data = f.read()
    lines = data.decode(errors="replace").splitlines()
    return lines[1:] if length > size else lines  # the first line of a tail is likely cut


def latest_trace_id(run_dir: Path) -> str:
    """The trace whose first span started last, among the spans written most recently."""
    files = _span_files(run_dir)
    records: list[dict[str, Any]] = []
    for path in reversed(files):
        records = list(_records(_tail(path, TAIL_BYTES)))
        if records:
            break
    if not records:
        raise TraceError(
            f"no spans under {run_dir / 'traces'}: start the mesh (`make up`) and make a call, "
            "or pass --run-dir where it runs"
        )
    first: dict[str, int] = {}
    for r in records:
        start = int(r.get("start_ns", 0))
        first[r["trace_id"]] = min(first.get(r["trace_id"], start), start)
    return max(first, key=lambda t: first[t])


def load_trace(run_dir: Path, trace_id: str) -> list[dict[str, Any]]:
    needle = f'"trace_id":"{trace_id}"'
    spans: dict[str, dict[str, Any]] = {}
    for path in _span_files(run_dir):
        with path.open(encoding="utf-8", errors="replace") as f:
            for record in _records(line for line in f if needle in line):
                spans[record["span_id"]] = record  # a span exported twice is kept once
    if not spans:
        raise TraceError(f"trace {trace_id} is not in {run_dir / 'traces'}")
    return list(spans.values())


def build_tree(records: list[dict[str, Any]]) -> list[Span]:
    """Roots (spans whose parent is not in the trace, e.g. a client's own span) with their children, by start."""
    spans = {r["span_id"]: Span(r) for r in records}
    roots: list[Span] = []
    for span in spans.values():
        parent = spans.get(span.record.get("parent_span_id") or "")
        (parent.children if parent is not None and parent is not span else roots).append(span)
    for span in spans.values():
        span.children.sort(key=lambda s: (s.start, s.record.get("name", "")))
    roots.sort(key=lambda s: (s.start, s.record.get("name", "")))
    return roots


def status_of(span: Span) -> str:
    attrs = span.attributes
    for key in ("rpc.grpc.status_code", "grpc.status_code"):
        value = attrs.get(key)
        if value not in (None, ""):
            try:
                return GRPC_CODES[int(value)]
            except (ValueError, IndexError):
                return str(value)
    http = attrs.get("http.status_code") or attrs.get("http.response.status_code")
    if http not in (None, ""):
        return f"HTTP {http}"
    code = str((span.record.get("status") or {}).get("code", "UNSET"))
    return "ERROR" if code == "ERROR" else ("OK" if code == "OK" else "-")


def _short_method(path: str) -> str:
    """/shopmesh.order.v1.OrderService/CreateOrder -> OrderService/CreateOrder."""
    service, sep, method = path.lstrip("/").partition("/")
    return f"{service.rsplit('.', 1)[-1]}/{method}" if sep and "." in service else path


def display_name(span: Span) -> str:
    """The span's name, made readable: gRPC methods without their package, Envoy's ingress with its request."""
    name = str(span.record.get("name", "?"))
    attrs = span.attributes
    if name == "ingress" and attrs.get("http.method"):
        url = str(attrs.get("http.url", ""))
        path = "/" + url.split("://", 1)[-1].partition("/")[2] if "://" in url else url
        listener = attrs.get("shopmesh.listener", "ingress")
        return f"{listener} {attrs['http.method']} {_short_method(path.partition('?')[0])}"
    if name.startswith("/"):
        return _short_method(name)
    return name


def _service(record: dict[str, Any]) -> str:
    return str(record.get("service", "?")).removeprefix("shopmesh-")


def _duration(ns: int) -> str:
    return f"{ns / 1e6:.1f} ms"


def _bar(span: Span, origin: int, total: int, width: int) -> str:
    if total <= 0:
        return "█"
    left = int((span.start - origin) * width / total)
    length = max(1, round((span.end - span.start) * width / total))
    left = min(left, width - 1)
    return " " * left + "█" * min(length, width - left)


def _statement(span: Span) -> str:
    statement = " ".join(str(span.attributes.get("db.statement") or "").split())
    return "" if statement.upper() in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK") else statement


def render(records: list[dict[str, Any]], *, width: int = 120, mask_ids: bool = False) -> str:
    """The waterfall of one trace's spans (see the module docstring)."""
    roots = build_tree(records)
    origin = min(s["start_ns"] for s in records)
    finish = max(max(int(s.get("end_ns", 0)), int(s["start_ns"])) for s in records)
    total = finish - origin
    trace_id = "<trace-id>" if mask_ids else records[0]["trace_id"]
    services = sorted({_service(r) for r in records})
    started = dt.datetime.fromtimestamp(origin / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    name_w, service_w, replica_w, duration_w, status_w = 46, 9, 11, 10, 17
    bar_w = max(10, width - (name_w + service_w + replica_w + duration_w + status_w + 5))
    lines = [
        f"trace {trace_id}  {started} UTC  {_duration(total)}  {len(records)} spans  {', '.join(services)}",
        "",
        f"{'span':<{name_w}} {'service':<{service_w}} {'replica':<{replica_w}} {'duration':>{duration_w}} "
        f"{'status':<{status_w}} {'0':<{bar_w - len(_duration(total))}}{_duration(total)}",
    ]

    def walk(span: Span, lead: str, branch: str) -> None:
        name = f"{lead}{branch}{display_name(span)}"
        if len(name) > name_w:
            name = name[: name_w - 1] + "…"
        record = span.record
        lines.append(
            f"{name:<{name_w}} {_service(record):<{service_w}.{service_w}} "
            f"{record.get('replica', '')!s:<{replica_w}.{replica_w}} "
            f"{_duration(span.end - span.start):>{duration_w}} {status_of(span):<{status_w}.{status_w}} "
            f"{_bar(span, origin, total, bar_w)}".rstrip()
        )
        child_lead = lead + {"": "", "└─ ": "   "}.get(branch, "│  ")
        if statement := _statement(span):
            sql_lead = child_lead + ("│  " if span.children else "   ")
            room = width - len(sql_lead)
            text = statement if len(statement) <= room else statement[: max(room - 1, 10)] + "…"
            lines.append(f"{sql_lead}{text}".rstrip())
        for i, child in enumerate(span.children):
            walk(child, child_lead, "└─ " if i == len(span.children) - 1 else "├─ ")

    for root in roots:
        walk(root, "", "")
    return "\n".join(lines) + "\n"


def log_lines(run_dir: Path, trace_id: str) -> list[tuple[str, str]]:
    """(process, line) of every log line carrying the trace id, in time order per process."""
    found = []
    logs = run_dir / "logs"
    for path in sorted(logs.glob("*.log")) if logs.is_dir() else []:
        with path.open(encoding="utf-8", errors="replace") as f:
            found += [(path.stem, line.rstrip("\n")) for line in f if trace_id in line]
    return found


def _time_of(line: str) -> str:
    try:
        entry = json.loads(line)
    except ValueError:
        return ""
    return str(entry.get("time") or entry.get("start_time") or "") if isinstance(entry, dict) else ""


def render_logs(entries: list[tuple[str, str]], mask_ids: bool = False, trace_id: str = "") -> str:
    if not entries:
        return "no log lines carry this trace id\n"
    entries = sorted(entries, key=lambda e: (_time_of(e[1]), e[0]))
    out = [f"{len(entries)} log lines:"]
    for process, line in entries:
        text = pretty(line)
        if mask_ids and trace_id:
            text = text.replace(trace_id, "<trace-id>")
        out.append(f"{process:>11} | {text}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m meshctl trace",
        description="Print a trace from `make up`'s local trace files as a waterfall, with its log lines.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trace", default="", help="32-hex trace id (default: the most recent trace)")
    parser.add_argument("--run-dir", default="var", help="the mesh's run directory (default: var)")
    parser.add_argument("--width", type=int, default=0, help="output width (default: the terminal's)")
    parser.add_argument("--no-logs", action="store_true", help="only the waterfall, not the log lines")
    parser.add_argument("--mask-ids", action="store_true", help="print <trace-id> instead of the id")


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    trace_id = args.trace.strip().lower()
    if trace_id and not TRACE_ID.match(trace_id):
        print(f"meshctl trace: {args.trace!r} is not a 32-hex trace id", file=sys.stderr)
        return 2
    width = args.width or max(100, shutil.get_terminal_size((140, 40)).columns)
    try:
        trace_id = trace_id or latest_trace_id(run_dir)
        records = load_trace(run_dir, trace_id)
    except TraceError as exc:
        print(f"meshctl trace: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render(records, width=width, mask_ids=args.mask_ids))
    if not args.no_logs:
        sys.stdout.write("\n" + render_logs(log_lines(run_dir, trace_id), args.mask_ids, trace_id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
