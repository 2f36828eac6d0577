"""The chart's token signing keys and gateway readiness, offline: a Secret of several keys mounted whole, and an
Envoy that is not ready before it has fetched the keys (a token call would get 401)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from svc_user import keyring
from tests.helm.conftest import CHART, render, render_matrix

FULLNAME = "demo-shopmesh"
KEY_DIR = "/var/run/secrets/shopmesh/jwt"


def _find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def _users_pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pod: dict[str, Any] = _find(docs, "Deployment", f"{FULLNAME}-users")["spec"]["template"]["spec"]
    return pod


@pytest.mark.parametrize("values", ["default", "external-db"])
def test_every_key_of_the_secret_is_a_signing_key_and_updates_reach_the_pods(values: str) -> None:
    docs = render_matrix(values)
    pod = _users_pod(docs)
    (volume,) = [v for v in pod["volumes"] if v["name"] == "jwt"]
    secret = "shopmesh-jwt-key" if values == "external-db" else f"{FULLNAME}-jwt"
    # Whole, without items or subPath: kubelet then updates the files in place when a key is added or removed.
    assert volume["secret"] == {"secretName": secret, "defaultMode": 0o440}
    container = pod["containers"][0]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "jwt"]
    assert mount == {"name": "jwt", "mountPath": KEY_DIR, "readOnly": True}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SVC_USER_JWT_KEY_DIR"] == KEY_DIR and "SVC_USER_JWT_KEY_FILE" not in env
    assert env["SVC_USER_JWT_KEY_CREATE"] == "false"


def test_the_generated_secret_holds_one_first_key(tmp_path: Path) -> None:
    (secret,) = [d for d in render() if d["kind"] == "Secret" and d["metadata"]["name"] == f"{FULLNAME}-jwt"]
    assert list(secret["data"]) == [keyring.FIRST_KEY]
    for name, value in secret["data"].items():
        (tmp_path / name).write_bytes(base64.b64decode(value))
    ring = keyring.KeyRing(tmp_path, token_ttl_seconds=3600)
    assert len(ring.published(keyring.BEGINNING)) == 1


def test_the_secret_template_keeps_every_key_an_operator_added() -> None:
    # `lookup` answers nothing offline, so the template's two branches are checked as text: an existing
    # Secret's entries are copied whole (a rotation's keys, a retired key's absence); only a new one is made.
    text = (CHART / "templates" / "secrets.yaml").read_text()
    jwt_part = text[: text.index("postgresql.enabled")]
    assert "{{- range $key, $value := $data }}" in jwt_part
    assert jwt_part.count("genPrivateKey") == 1 and "{{- if $data }}" in jwt_part


def test_the_key_values_are_documented_and_the_old_single_key_value_is_gone() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert set(schema["properties"]["jwt"]["properties"]) == {
        "existingSecret",
        "issuer",
        "audience",
        "tokenTtlSeconds",
    }
    proc = subprocess.run(
        [str(CHART.parents[1] / ".tools" / "bin" / "helm"), "template", "x", str(CHART), "--set", "jwt.existingSecretKey=a"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and "existingSecretKey" in proc.stderr


def _envoy(docs: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = _find(docs, "Deployment", f"{FULLNAME}-envoy")["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


class _Admin(BaseHTTPRequestHandler):
    """Envoy's admin interface as far as the probes ask it: /ready and the jwt_authn stats."""

    ready = 200
    fetched = 0

    def do_GET(self) -> None:
        if self.path == "/ready":
            body, status = b"LIVE\n", type(self).ready
        elif self.path.startswith("/stats?filter=jwt_authn.jwks_fetch_success"):
            body, status = f"http.public.jwt_authn.jwks_fetch_success: {type(self).fetched}\n".encode(), 200
        else:
            body, status = b"", 404
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _fake_admin() -> Iterator[tuple[int, type[_Admin]]]:
    handler = type("Admin", (_Admin,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()


def _probe_passes(command: list[str], port: int) -> bool:
    assert command[:2] == ["python", "-c"]
    code = re.sub(r"http://127\.0\.0\.1:\d+", f"http://127.0.0.1:{port}", command[2])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30).returncode == 0


def test_envoy_is_ready_only_once_it_has_fetched_the_signing_keys() -> None:
    envoy = _envoy(render())
    startup, readiness = envoy["startupProbe"]["exec"]["command"], envoy["readinessProbe"]["exec"]["command"]
    assert startup == readiness and "127.0.0.1:9901" in startup[2]
    with _fake_admin() as (port, admin):
        assert not _probe_passes(startup, port)  # listening, no keys yet: a token call would get 401
        admin.fetched = 1
        assert _probe_passes(startup, port)
        admin.ready = 503  # draining or not initialised
        assert not _probe_passes(startup, port)
    assert not _probe_passes(startup, port)  # nothing listening


def test_the_gateway_config_refreshes_the_keys_in_the_background_and_strips_forced_traces() -> None:
    config = json.loads((CHART / "files" / "envoy.json").read_text())
    listeners = {x["name"]: x for x in config["staticResources"]["listeners"]}
    hcm = listeners["public"]["filterChains"][0]["filters"][0]["typedConfig"]
    jwt_filter = next(f for f in hcm["httpFilters"] if f["name"] == "envoy.filters.http.jwt_authn")
    remote = jwt_filter["typedConfig"]["providers"]["shopmesh"]["remoteJwks"]
    # Refetched 5 s before the cache runs out, old keys serving meanwhile: keys must be published 295 s ahead.
    assert remote["cacheDuration"] == "300s" and remote["asyncFetch"]["fastListener"] is True
    (early,) = hcm["earlyHeaderMutationExtensions"]
    assert {m["remove"] for m in early["typedConfig"]["mutations"]} == {
        "x-client-trace-id",
        "x-envoy-force-trace",
    }
    internal = listeners["internal"]["filterChains"][0]["filters"][0]["typedConfig"]
    assert "earlyHeaderMutationExtensions" not in internal  # services still force the traces they record
