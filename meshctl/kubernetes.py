"""Kubernetes glue: the Helm chart's generated files, and the small commands its pods run.

The chart (helm/shopmesh) must not carry a second, hand-written Envoy configuration. `make chart` renders
Envoy's bootstrap from the same topology and contracts as `make up` and commits it as ``files/envoy.json``:

* every cluster points at a placeholder host (``__SHOPMESH_<SERVICE>_HOST__``) that the chart replaces with
  the DNS name of the service's headless Service, which depends on the release name and namespace. A
  non-IP host makes the renderer emit a DNS cluster, so Envoy balances across the pods behind it;
* both listeners bind 0.0.0.0 (pods are reached on their pod IP); the admin interface stays on loopback;
* the contracts' descriptor set is inlined (``proto_descriptor_bin``), so the config is self-contained and
  matches the routes it was rendered with, whatever the image holds;
* GET /docs reads its files from the image (``IMAGE_GEN``: the Dockerfile copies gen/docs, gen/openapi and
  gen/asyncapi): Swagger UI's 1.7 MB bundle would not fit a ConfigMap (1 MiB).

``files/mesh.json`` carries what the templates need from the topology (ports, modules, env prefixes, which
services Envoy routes to, the broker's ports), so the chart's ports cannot drift from the rendered config.
``files/monitoring/*.yml`` are copies of the Prometheus rules (monitoring/rules), which the chart's PrometheusRule
renders, and ``files/monitoring/dashboards/*.json`` of the Grafana dashboards (monitoring/dashboards), which its
dashboard ConfigMap holds (a chart cannot read files outside its directory). A test fails when any is stale.

Run as ``python -m meshctl.kubernetes``, this module is also what the chart's pods call:
``check-gateway`` (the ``helm test`` pod) and ``wait-for-database`` (an init container).
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from meshctl.topology import DEFAULT_DESCRIPTOR, DEFAULT_TOPOLOGY, ROOT, Service, Topology, load

CHART_DIR = ROOT / "helm" / "shopmesh"
ENVOY_FILE = CHART_DIR / "files" / "envoy.json"
MESH_FILE = CHART_DIR / "files" / "mesh.json"
RULES_DIR = ROOT / "monitoring" / "rules"
"""The Prometheus rules; the chart's PrometheusRule renders a copy of each (files/monitoring/)."""
DASHBOARDS_DIR = ROOT / "monitoring" / "dashboards"
"""The Grafana dashboards (the meshctl.dashboard package writes them); the chart ships a copy of each."""
TRANSCODER_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder"
)
ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"
IMAGE_GEN = Path("/app/gen")
"""gen/ in the image (its WORKDIR is /app), where the chart's Envoy finds the /docs files."""


def outside_image(config_text: str, gen_dir: Path = ROOT / "gen") -> str:
    """The chart's Envoy configuration (files/envoy.json's text) reading the /docs files from a checkout's gen/
    instead of the image's: how it is run or validated outside the image."""
    return config_text.replace(f'"{IMAGE_GEN}/', f'"{gen_dir}/')


ABSENT_ID = "0" * 32
"""A well-formed id no resource has: the gateway check's lookups of it must reach a service's database."""


def host_placeholder(service: str) -> str:
    """The host the committed config names for `service`; the chart swaps in its headless Service's DNS name."""
    return f"__SHOPMESH_{service.upper()}_HOST__"


def _walk(obj: Any) -> Iterator[dict[str, Any]]:
    if isinstance(obj, dict):
        yield obj
        for value in obj.values():
            yield from _walk(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _walk(value)


def inline_descriptor(config: dict[str, Any], descriptor: bytes) -> dict[str, Any]:
    """Replaces the transcoder's `proto_descriptor` (a path on this machine) with the set itself."""
    transcoders = [node for node in _walk(config) if node.get("@type") == TRANSCODER_TYPE]
    if not transcoders:
        raise ValueError("the rendered Envoy config has no gRPC-JSON transcoder")
    for transcoder in transcoders:
        transcoder.pop("protoDescriptor", None)
        transcoder["protoDescriptorBin"] = base64.b64encode(descriptor).decode()
    return config


def render_envoy(topology: Topology, descriptor_path: Path = DEFAULT_DESCRIPTOR) -> dict[str, Any]:
    """Envoy's bootstrap for the chart, in proto3 JSON (see the module docstring)."""
    # heavy (envoy-data-plane); the pods' commands do not need them
    from meshctl import envoy_config, envoy_observability

    # A service without an API (an event consumer) has no cluster, so no host to substitute either.
    endpoints = {s.name: [(host_placeholder(s.name), s.port)] for s in topology.gateway_services}
    config = envoy_config.render(
        topology.with_gateway(bind="0.0.0.0"),
        descriptor_path=descriptor_path,
        endpoints=endpoints,
        internal_bind="0.0.0.0",
        # The metrics listener (/stats/prometheus and /ready only) for Prometheus; no tracer: Envoy's spans
        # would need the collector's address in this committed file (the services export by value).
        observe=envoy_observability.Options(metrics=True, metrics_bind="0.0.0.0"),
        docs_dir=IMAGE_GEN,
    )
    return inline_descriptor(config, Path(descriptor_path).read_bytes())


def mesh_summary(topology: Topology) -> dict[str, Any]:
    """What the chart's templates read from the topology: ports and how to run each service."""
    gw = topology.gateway

    def service(s: Service) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "module": s.module,
            "envPrefix": s.env_prefix,
            "port": s.port,
            "grpcServices": list(s.grpc_services),
            "timeoutSeconds": s.timeout,
            # Whether Envoy routes to it: the templates give the others no Envoy ingress or helm test check.
            "behindGateway": s.behind_gateway,
        }
        if s.behind_gateway:
            summary["hostPlaceholder"] = host_placeholder(s.name)
        return summary

    return {
        "comment": "Generated by `make chart` from envoy/topology.toml. Do not edit.",
        "gateway": {
            "publicPort": gw.public_port,
            "internalPort": gw.internal_port,
            "adminPort": gw.admin_port,
            "metricsPort": gw.metrics_port,
        },
        "broker": {"port": topology.broker.port, "monitorPort": topology.broker.monitor_port},
        "services": {s.name: service(s) for s in topology.services},
    }


def _json(data: Any) -> str:
    return json.dumps(data, indent=1) + "\n"


def chart_files(
    topology_path: Path = DEFAULT_TOPOLOGY, descriptor_path: Path = DEFAULT_DESCRIPTOR
) -> dict[Path, str]:
    """The chart's generated files and their expected contents."""
    topology = load(topology_path)
    return {
        ENVOY_FILE: _json(render_envoy(topology, descriptor_path)),
        MESH_FILE: _json(mesh_summary(topology)),
        **{
            CHART_DIR / "files" / "monitoring" / p.name: p.read_text()
            for p in sorted(RULES_DIR.glob("*.yml"))
        },
        **{
            CHART_DIR / "files" / "monitoring" / "dashboards" / p.name: p.read_text()
            for p in sorted(DASHBOARDS_DIR.glob("*.json"))
        },
    }


def stale_chart_files() -> list[Path]:
    """Generated chart files whose committed contents differ from a fresh rendering."""
    return [path for path, text in chart_files().items() if not path.is_file() or path.read_text() != text]


def write_chart_files() -> list[Path]:
    """Rewrites the chart's generated files; returns those that changed."""
    changed = []
    for path, text in chart_files().items():
        if not path.is_file() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            changed.append(path)
    return changed


# -- what the chart's pods run ------------------------------------------------------------------------------


def _get(url: str, timeout: float, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    """GET (or POST when there is a body) as JSON, with a bearer token when given."""
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode())
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status, body = reply.status, reply.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


def _reached_service(status: int, body: Any, service: str) -> bool:
    """A NOT_FOUND for ABSENT_ID that the service itself produced (its ErrorInfo domain), not Envoy."""
    if status != 404 or not isinstance(body, dict):
        return False
    return any(
        detail.get("@type") == ERROR_INFO_TYPE and detail.get("domain") == f"{service}.shopmesh.dev"
        for detail in body.get("details", [])
        if isinstance(detail, dict)
    )


def gateway_checks(base_url: str, services: list[str], timeout: float) -> dict[str, Callable[[], str | None]]:
    """Named checks through the gateway; each returns None when it passes, else what went wrong."""
    base = base_url.rstrip("/")
    session: dict[str, str] = {}

    def signed_in() -> str:
        """A throwaway account's access token (made once): most lookups need one, and getting it proves that
        users can sign up and log in through the gateway."""
        if "token" not in session:
            email, password = f"helm-test-{secrets.token_hex(6)}@example.com", secrets.token_urlsafe(18)
            account = {"user": {"email": email, "display_name": "helm test"}, "password": password}
            status, body = _get(f"{base}/v1/users", timeout, body=account)
            if status != 200:
                raise OSError(f"POST /v1/users: {status} {body!r:.300}")
            status, body = _get(
                f"{base}/v1/users:login", timeout, body={"email": email, "password": password}
            )
            if status != 200 or not isinstance(body, dict):
                raise OSError(f"POST /v1/users:login: {status} {body!r:.300}")
            session["token"] = str(body["access_token"])
        return session["token"]

    def lookup(service: str) -> Callable[[], str | None]:
        # Every service's collection is named like the service: GET /v1/users/{id} etc. The lookup crosses
        # Envoy's public route and token check, the service, and the service's database.
        def check() -> str | None:
            status, body = _get(f"{base}/v1/{service}/{ABSENT_ID}", timeout, signed_in())
            if _reached_service(status, body, service):
                return None
            return (
                f"GET /v1/{service}/{ABSENT_ID}: expected the service's own 404, got {status} {body!r:.300}"
            )

        return check

    def jwks() -> str | None:
        status, body = _get(f"{base}/.well-known/jwks.json", timeout)
        if status == 200 and isinstance(body, dict) and body.get("keys"):
            return None
        return f"GET /.well-known/jwks.json: expected 200 with keys, got {status} {body!r:.300}"

    def grpc_list_products() -> str | None:
        import grpc
        from shopmesh.product.v1 import product_service_pb2, product_service_pb2_grpc

        target = base.split("://", 1)[-1]
        with grpc.insecure_channel(target) as channel:
            stub = product_service_pb2_grpc.ProductServiceStub(channel)
            try:
                stub.ListProducts(product_service_pb2.ListProductsRequest(page_size=1), timeout=timeout)
            except grpc.RpcError as exc:
                return f"gRPC ProductService/ListProducts: {exc.code().name} {exc.details()}"
        return None

    checks: dict[str, Callable[[], str | None]] = {f"REST {s}": lookup(s) for s in services}
    checks["REST users JWKS"] = jwks
    checks["gRPC products ListProducts"] = grpc_list_products
    return checks


def check_gateway(
    base_url: str, services: list[str], *, deadline_seconds: float = 120.0, timeout: float = 10.0
) -> list[str]:
    """Runs every gateway check, retrying failures until the deadline; returns the failures left."""
    pending = gateway_checks(base_url, services, timeout)
    deadline = time.monotonic() + deadline_seconds
    failures: dict[str, str] = {}
    while True:
        for name, check in list(pending.items()):
            try:
                problem = check()
            except OSError as exc:  # connection refused, DNS not there yet, timeouts
                problem = f"{type(exc).__name__}: {exc}"
            if problem is None:
                print(f"ok   {name}", flush=True)
                del pending[name]
                failures.pop(name, None)
            else:
                failures[name] = problem
        remaining = deadline - time.monotonic()
        if not pending or remaining <= 0:
            return [f"{name}: {problem}" for name, problem in failures.items()]
        time.sleep(min(2.0, remaining))


def wait_for_database(url: str, *, deadline_seconds: float) -> bool:
    """Waits until `url` accepts a connection and answers SELECT 1."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from meshkit.db import normalize_url

    engine = sa.create_engine(normalize_url(url), poolclass=NullPool, connect_args={"connect_timeout": 5})
    deadline = time.monotonic() + deadline_seconds
    try:
        while True:
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
                return True
            except sa.exc.OperationalError as exc:
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                print(f"database not ready: {reason}", file=sys.stderr, flush=True)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(2.0, remaining))
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(
        prog="python -m meshctl.kubernetes", description="Commands the shopmesh Helm chart's pods run."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gateway = sub.add_parser(
        "check-gateway",
        help="check every service through the gateway (the chart's `helm test`)",
        description="Looks up an absent resource of every service over REST (each must answer its own 404, "
        "which proves Envoy, the service and its database answer), fetches the JWKS, and lists products "
        "over native gRPC. Retries until the deadline.",
    )
    gateway.add_argument("url", help="the gateway, e.g. http://shopmesh-envoy:8080")
    gateway.add_argument(
        "--services", help="comma-separated (default: every service of the topology with an API)"
    )
    gateway.add_argument(
        "--deadline", type=float, default=120.0, help="seconds to keep retrying (default 120)"
    )
    wait = sub.add_parser(
        "wait-for-database",
        help="wait until the database in an environment variable answers",
        description="Exits 0 once the PostgreSQL URL in the variable answers SELECT 1, 1 at the deadline. "
        "The URL is read from the environment so that no credential appears in the pod's arguments.",
    )
    wait.add_argument("variable", help="name of the variable holding the URL, e.g. SVC_USER_DATABASE_URL")
    wait.add_argument("--deadline", type=float, default=300.0, help="seconds to wait (default 300)")
    args = parser.parse_args(argv)

    if args.command == "check-gateway":
        routed = args.services or ",".join(s.name for s in load().gateway_services)
        services = [s for s in routed.split(",") if s]
        failures = check_gateway(args.url, services, deadline_seconds=args.deadline)
        for failure in failures:
            print(f"FAIL {failure}", flush=True)
        return 1 if failures else 0
    url = os.environ.get(args.variable, "")
    if not url:
        print(f"{args.variable} is not set", file=sys.stderr)
        return 2
    return 0 if wait_for_database(url, deadline_seconds=args.deadline) else 1


if __name__ == "__main__":
    raise SystemExit(main())
