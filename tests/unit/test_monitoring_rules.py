"""The Prometheus rules (monitoring/rules): `promtool check rules`, their `promtool test rules` unit tests
(monitoring/tests), and that they agree with the code: the public RPCs of the contracts, the status codes meshkit
counts as the server's fault, the latency buckets, the metric names the replicas and Envoy really export
(tests/support/exported_metrics, which the dashboard's test reads too).

promtool comes from Debian's prometheus package; tools/install-prometheus.sh installs it on a machine without it
(as the bench installs wrk), so this test never skips for want of it.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import Any

import grpc
import yaml

from meshctl.envoy_config import public_methods, rpc_methods
from meshctl.topology import DEFAULT_DESCRIPTOR
from meshkit.calls import _SERVER_ERRORS
from meshkit.metrics import LATENCY_BUCKETS
from tests.support.exported_metrics import PROMETHEUS_OWN, envoy_names, metric_names, replica_names

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "monitoring" / "rules").glob("*.yml"))
RULE_TESTS = sorted((ROOT / "monitoring" / "tests").glob("*.yml"))
INSTALLER = ROOT / "tools" / "install-prometheus.sh"
SEVERITIES = {"critical", "warning", "info"}


@functools.cache
def promtool() -> str:
    """promtool's path, installing Debian's prometheus package first if it is missing."""
    found = subprocess.run([str(INSTALLER)], capture_output=True, text=True, timeout=600, check=False)
    assert found.returncode == 0, f"{INSTALLER} failed:\n{found.stderr}"
    return str(Path(found.stdout.strip().splitlines()[-1]) / "promtool")


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=300, check=False, cwd=ROOT
    )


def groups() -> list[dict[str, Any]]:
    return [group for path in RULES for group in yaml.safe_load(path.read_text())["groups"]]


def rules() -> list[dict[str, Any]]:
    return [rule for group in groups() for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def test_there_are_rules_and_tests() -> None:
    assert RULES, "no monitoring/rules/*.yml"
    assert RULE_TESTS, "no monitoring/tests/*.yml"


def test_promtool_checks_the_rules() -> None:
    result = run_promtool("check", "rules", *map(str, RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = run_promtool("test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_is_unit_tested() -> None:
    """Each alert is expected to fire somewhere in the unit tests, and each recorded series is queried."""
    fired: set[str] = set()
    queried = ""
    rule_files: set[Path] = set()
    for path in RULE_TESTS:
        doc = yaml.safe_load(path.read_text())
        rule_files |= {(path.parent / f).resolve() for f in doc["rule_files"]}
        for case in doc["tests"]:
            for test in case.get("alert_rule_test", []):
                if test.get("exp_alerts"):
                    fired.add(test["alertname"])
            queried += " ".join(t["expr"] for t in case.get("promql_expr_test", []))
    assert rule_files == {p.resolve() for p in RULES}
    names = {rule["alert"] for rule in alerts()}
    assert names - fired == set(), "alerts no unit test sees firing"
    for record in {rule["record"] for rule in rules() if "record" in rule}:
        # Either by name or by a selector on __name__ whose alternatives list it.
        base, _, window = record.rpartition(":rate")
        assert record in queried or (base in queried and window in queried), f"{record} is never queried"


def test_every_alert_has_a_severity_summary_description_and_runbook() -> None:
    for rule in alerts():
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        for annotation in ("summary", "description", "runbook"):
            assert rule["annotations"].get(annotation, "").strip(), f"{rule['alert']}: no {annotation}"
        assert rule["alert"].startswith("Shopmesh"), rule["alert"]


def test_alert_names_are_unique() -> None:
    names = [rule["alert"] for rule in alerts()]
    assert len(names) == len(set(names))


def _matcher_values(expr: str, label: str, op: str = "=~") -> set[frozenset[str]]:
    return {frozenset(m.group(1).split("|")) for m in re.finditer(rf'{label}{re.escape(op)}"([^"]*)"', expr)}


def test_slo_alerts_cover_exactly_the_public_rpcs() -> None:
    """The burn-rate alerts select the public RPCs (a google.api.http route) by method name; method names are
    unique across the services, so the name alone picks the RPC."""
    public = public_methods(DEFAULT_DESCRIPTOR)
    every = rpc_methods(DEFAULT_DESCRIPTOR)
    public_names = {m for methods in public.values() for m in methods}
    all_names = [m for methods in every.values() for m in methods]
    assert len(all_names) == len(set(all_names)), "two services share a method name: select by service too"
    slo_alerts = [rule for rule in alerts() if "slo" in rule["labels"]]
    assert len(slo_alerts) == 6  # availability and latency, three burn rates each
    for rule in slo_alerts:
        assert _matcher_values(rule["expr"], "grpc_method") == {frozenset(public_names)}, rule["alert"]


def test_availability_counts_the_codes_meshkit_counts_as_server_errors() -> None:
    server_errors = frozenset(code.name for code in _SERVER_ERRORS)
    recorded = [rule for rule in rules() if rule.get("record", "").startswith("shopmesh:rpc_error_ratio:")]
    assert {r["record"].rpartition(":rate")[2] for r in recorded} == {"5m", "30m", "1h", "6h", "3d"}
    for rule in recorded:
        assert _matcher_values(rule["expr"], "grpc_code") == {server_errors}, rule["record"]
    assert grpc.StatusCode.INVALID_ARGUMENT not in _SERVER_ERRORS


def test_latency_targets_are_bucket_bounds() -> None:
    """An SLI read off a bucket bound is exact; between bounds it would be a guess. Reads (Get*, List*) 500 ms,
    writes 2.5 s."""
    targets = {}
    for rule in rules():
        if rule.get("record", "").startswith("shopmesh:rpc_slow_ratio:"):
            (le,) = re.findall(r'le="([^"]+)"', rule["expr"])
            assert float(le) in LATENCY_BUCKETS
            # Prometheus 3 normalises `le` to Go's float format; these bounds read the same in 2 and 3.
            assert le == repr(float(le))
            targets[rule["labels"]["latency_target"]] = float(le)
    assert targets == {"500ms": 0.5, "2500ms": 2.5}


def test_rules_use_metric_names_the_replicas_and_envoy_export() -> None:
    exported = replica_names()
    assert "process_start_time_seconds" in exported  # restarts
    known = (
        exported | envoy_names() | PROMETHEUS_OWN | {rule["record"] for rule in rules() if "record" in rule}
    )
    used: set[str] = set()
    for rule in rules():
        used |= metric_names(rule["expr"])
    assert {"grpc_server_handled_total", "envoy_cluster_outlier_detection_ejections_active"} <= used
    assert used - known == set(), "names neither a replica nor Envoy exports"
