"""Every line a running mesh's shopmesh processes wrote (RUN_DIR/logs/<process>.log: each replica of each service
and Envoy, its access lines and its own) follows monitoring/log-line.schema.json, after a purchase has made each
of them log: users (the sign-up and login), products, orders, payments, notifications (the e-mail), Envoy."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SERVICES, RunningMesh
from tests.e2e.flows import card_json, rest_product, rest_user
from tests.unit.test_log_schema import assert_valid

pytestmark = pytest.mark.e2e

NOT_OURS = {"nats", "otel-sink", "supervisor", "prometheus"}
"""Text logs of processes that are not shopmesh's JSON writers: the broker, the local trace sink, the
supervisor's own report file, a local Prometheus (README: their lines are not described by the schema)."""


def _complete_lines(path: Path) -> list[str]:
    """The file's lines that end in a newline (the last one may still be being written)."""
    text = path.read_text(errors="replace")
    return text.split("\n")[:-1]


def _entries(path: Path) -> list[dict[str, Any]]:
    entries = []
    for line in _complete_lines(path):
        if not line.strip():
            continue
        start = line.find('{"time"', 1)
        if not line.startswith("{") or (start > 0 and not _parses(line)):
            # A process SIGKILLed mid-write (the chaos tests on this session's mesh) leaves a partial line its
            # restarted self appends to; what follows the cut is a whole line of its own.
            assert start > 0, f"{path.name}: not a JSON line: {line[:300]}"
            line = line[start:]
        entries.append(assert_valid(line))
    return entries


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _wait_for(description: str, check: Any, within: float = 60) -> Any:
    deadline = time.monotonic() + within
    while not (found := check()):
        assert time.monotonic() < deadline, f"not within {within:.0f} s: {description}"
        time.sleep(0.25)
    return found


def test_every_processs_lines_follow_the_log_schema(mesh: RunningMesh) -> None:
    buyer = rest_user(mesh.rest)
    product = rest_product(mesh.admin)
    order = mesh.rest.as_user(buyer["token"]).post(
        "/v1/orders",
        {"order": {"user": buyer["name"], "items": [{"product": product["name"], "quantity": 1}]},
         "payment": card_json()},
    )  # fmt: skip
    assert order.status == 200, order.text
    _wait_for("the confirmation e-mail", lambda: mesh.mail.about(order.json["name"]))
    logs = mesh.run_dir / "logs"

    def mail_logged() -> bool:
        return any(
            e.get("event") == "mail" and e.get("resource") == order.json["name"]
            for path in logs.glob("notifications-*.log")
            for e in _entries(path)
        )

    _wait_for("the notifications replica's mail line", mail_logged)

    files = {path.stem: path for path in logs.glob("*.log")}
    replicas = {name for name in files if name.rpartition("-")[0] in SERVICES}
    assert set(files) - replicas - {"envoy"} <= NOT_OURS, "a process whose log this test does not know"
    seen: dict[str, set[str]] = {}
    for name in sorted(replicas | {"envoy"}):
        entries = _entries(files[name])
        for entry in entries:
            seen.setdefault(entry["service"], set()).add(entry["logger"])
            if name != "envoy":
                assert (entry["service"], entry["replica"]) == (name.rpartition("-")[0], name), entry
    # Every kind of process wrote lines: each service, Envoy's access log and Envoy's own.
    assert set(seen) == {*SERVICES, "envoy"}
    assert "envoy.access" in seen["envoy"] and any(logger != "envoy.access" for logger in seen["envoy"])
    assert all("meshkit.calls" in seen[s] for s in SERVICES if s != "notifications")
    # The purchase's access line carries its trace, in the same field the services use.
    access = [
        e for e in _entries(files["envoy"]) if e["logger"] == "envoy.access" and e["path"] == "/v1/orders"
    ]
    assert access and access[-1]["response_code"] == 200 and len(access[-1]["trace_id"]) == 32
