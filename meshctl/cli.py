"""`python -m meshctl`: run the mesh locally, render Envoy's configuration."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType

from meshctl import envoy_config, kubernetes, monitoring, topology
from meshctl import trace as trace_cmd
from meshctl.launcher import Endpoints, Mesh, MeshError
from meshctl.probes import Probe
from meshctl.supervisor_state import duration, pid_alive, read_state

GRPCURL = ".tools/bin/grpcurl"
SMTP_URL_VAR = "SVC_NOTIFICATION_SMTP_URL"
"""The notifications service's SMTP server; without one it writes each e-mail to SHOPMESH_MAIL_DIR."""


def _replica_override(text: str) -> tuple[str, int]:
    name, _, count = text.partition("=")
    if not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"expected SERVICE=N with N >= 1, got {text!r}")
    return name, int(count)


def _apply_overrides(topo: topology.Topology, args: argparse.Namespace) -> topology.Topology:
    if args.port_offset:
        topo = topo.shifted(args.port_offset)
    if args.public_port is not None:
        topo = topo.with_gateway(public_port=args.public_port)
    if args.bind is not None:
        topo = topo.with_gateway(bind=args.bind)
    if args.replicas is not None:
        for service in topo.services:
            topo = topo.with_service(service.name, replicas=args.replicas)
    for name, count in args.replicas_of or []:
        try:
            topo.service(name)
        except KeyError:
            raise SystemExit(f"meshctl: unknown service {name!r} in --replicas-of") from None
        topo = topo.with_service(name, replicas=count)
    return topo


def _shown(path: str) -> str:
    """A path as the walkthrough prints it: relative to the repository (where `make up` runs) when inside."""
    return os.path.relpath(path, topology.ROOT) if path.startswith(f"{topology.ROOT}/") else path


def walkthrough(endpoints: Endpoints, run_dir: Path) -> str:
    """Copy-paste commands for a full purchase, over REST (curl) and gRPC (grpcurl)."""
    if endpoints.certificate:
        cert = _shown(endpoints.certificate)
        gw, curl, plaintext = f"https://{endpoints.gateway}", f"curl --cacert {cert}", f"-cacert {cert}"
        grpc_gw = endpoints.gateway
    else:
        gw, curl, plaintext, grpc_gw = endpoints.gateway, "curl", "-plaintext", endpoints.gateway
    python = _shown(sys.executable)
    admin = f"SHOPMESH_DATA_DIR={run_dir}/data {python} -m svc_user grant-admin $EMAIL"
    return f"""
shopmesh is up. Gateway (gRPC and REST): {gw}{" (TLS, self-signed)" if endpoints.certificate else ""}   Envoy admin: http://{endpoints.admin}
Logs: {run_dir}/logs/   Data: {run_dir}/data/   Processes: make status   Stop: Ctrl-C
{events(endpoints, os.environ)}
{purchase(gw, curl, plaintext, grpc_gw, admin)}{observability(endpoints)}"""


def purchase(gw: str, curl: str, plaintext: str, grpc_gw: str, admin: str) -> str:
    """A full purchase to copy and paste: over REST with `curl` against the base URL `gw`, then over gRPC with
    grpcurl (`plaintext`: its -plaintext or -cacert flag) against `grpc_gw`; `admin` grants $EMAIL the admin role."""
    year = dt.date.today().year + 3
    field = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"{}\"])'"
    name, token = field.format("name"), field.format("access_token")
    card = f'"card_number":"4242424242424242","exp_month":12,"exp_year":{year},"cvc":"123"'
    return f"""
A purchase over REST (curl). Product writes need the admin role, which an operator grants:
  EMAIL=ada$RANDOM@example.com
  {curl} -s -X POST {gw}/v1/users -d '{{"user":{{"email":"'$EMAIL'","display_name":"Ada"}},"password":"correct horse battery"}}'
  {admin}
  TOKEN=$({curl} -s -X POST {gw}/v1/users:login -d '{{"email":"'$EMAIL'","password":"correct horse battery"}}' | {token})
  AUTH="authorization: Bearer $TOKEN"
  PRODUCT=$({curl} -s -H "$AUTH" -X POST {gw}/v1/products -d '{{"sku":"MUG-'$RANDOM'","title":"Mug","price":{{"currency_code":"USD","units":"12","nanos":500000000}},"stock":10}}' | {name})
  ORDER=$({curl} -s -H "$AUTH" -X POST {gw}/v1/orders -d '{{"request_id":"'$(python3 -c 'import uuid; print(uuid.uuid4())')'","order":{{"items":[{{"product":"'$PRODUCT'","quantity":2}}]}},"payment":{{{card}}}}}' | {name})
  {curl} -s -H "$AUTH" {gw}/v1/$ORDER
  {curl} -s -H "$AUTH" -X POST {gw}/v1/$ORDER:cancel -d '{{}}'

The same over gRPC (grpcurl):
  {GRPCURL} {plaintext} {grpc_gw} list
  {GRPCURL} {plaintext} -d '{{"page_size":5}}' {grpc_gw} shopmesh.product.v1.ProductService/ListProducts
  {GRPCURL} {plaintext} -H "$AUTH" -d '{{"order":{{"items":[{{"product":"'$PRODUCT'","quantity":1}}]}},"payment":{{{card}}}}}' {grpc_gw} shopmesh.order.v1.OrderService/CreateOrder
  {GRPCURL} {plaintext} -H "$AUTH" -d '{{"name":"'$ORDER'"}}' {grpc_gw} shopmesh.order.v1.OrderService/GetOrder
"""


def events(endpoints: Endpoints, env: Mapping[str, str]) -> str:
    """Where the services' events go and where the e-mails they cause end up."""
    if endpoints.nats_monitor:
        broker = f"{endpoints.nats} (NATS JetStream; monitoring: http://{endpoints.nats_monitor}/jsz)"
    else:
        broker = f"{endpoints.nats} (external NATS)"
    # The URL itself stays off the console: it may hold the SMTP password.
    if env.get(SMTP_URL_VAR):
        mail = f"sent through the SMTP server of {SMTP_URL_VAR}"
    else:
        mail = f".eml files in {_shown(endpoints.mail_dir)}/ (set {SMTP_URL_VAR} to send them)"
    return f"Events: {broker}\nE-mails: {mail}"


def observability(endpoints: Endpoints) -> str:
    """Where the traces go and what Prometheus can scrape."""
    targets = "\n".join(f"  {url}" for url in endpoints.scrape_targets())
    if endpoints.traces.endswith("traces"):
        traces = f"{endpoints.traces}/spans.jsonl; `make trace` shows the latest one"
    else:
        traces = endpoints.traces or "off (OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none)"
    return f"""
Traces: {traces}
Prometheus scrape targets:
{targets}
"""


def cmd_up(args: argparse.Namespace) -> int:
    topo = _apply_overrides(topology.load(args.topology), args)
    mesh = Mesh(
        topo,
        Path(args.run_dir),
        echo=lambda line: print(line, flush=True),
        notify=lambda line: print(f"meshctl: {line}", file=sys.stderr, flush=True),
        raw_console=args.raw_logs,
        tls=args.tls,
        trace_sampling=args.trace_sampling,
        monitoring=monitoring.Options(port=args.monitoring_port) if args.monitoring else None,
    )
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        endpoints = mesh.start(timeout=args.timeout)
    except MeshError as exc:
        print(f"meshctl: the mesh did not come up: {exc}", file=sys.stderr)
        return 1
    print(walkthrough(endpoints, Path(args.run_dir)), flush=True)
    if endpoints.prometheus:
        print(
            f"Prometheus: http://{endpoints.prometheus}   alerts: http://{endpoints.prometheus}/alerts   "
            f"rules: monitoring/rules (every replica and Envoy scraped every 5 s)",
            flush=True,
        )
    # The supervisor restarts whatever exits; only a signal stops the mesh.
    while not stop.wait(0.5):
        pass
    print("meshctl: stopping (services drain in-flight calls)...", flush=True)
    mesh.stop()
    print("meshctl: stopped", flush=True)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state = read_state(Path(args.run_dir))
    processes = state["processes"]

    def health(entry: dict[str, object]) -> str:
        probe = entry.get("probe")
        if entry["state"] != "running" or not pid_alive(int(str(entry["pid"]))):
            return "down"
        if not isinstance(probe, dict):
            return "-"
        return "healthy" if Probe(**probe).check(timeout=1.0) else "UNHEALTHY"

    with ThreadPoolExecutor(max_workers=8) as pool:
        healths = list(pool.map(health, processes))
    now = time.time()
    rows = [("PROCESS", "PID", "STATE", "UPTIME", "RESTARTS", "HEALTH", "PORT", "LAST EXIT")]
    for entry, shown in zip(processes, healths, strict=True):
        state_text = entry["state"]
        if state_text == "restarting" and entry.get("restart_at"):
            state_text = f"restart in {max(0.0, entry['restart_at'] - now):.1f} s"
        uptime = duration(now - entry["started_at"]) if entry["state"] == "running" else "-"
        rows.append(
            (entry["name"], str(entry["pid"]), state_text, uptime, str(entry["restarts"]), shown,
             str(entry["port"] or "-"), entry.get("last_exit") or "-")
        )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(
        f"mesh supervised by pid {state['pid']}, up {duration(now - state['started_at'])}, "
        f"run dir {args.run_dir}"
    )
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0 if all(h in ("healthy", "-") for h in healths) else 2


def cmd_render_envoy(args: argparse.Namespace) -> int:
    topo = _apply_overrides(topology.load(args.topology), args)
    config = envoy_config.render(
        topo, descriptor_path=Path(args.descriptor), internal_bind=args.internal_bind
    )
    if args.out == "-":
        print(json.dumps(config, indent=1))
        return 0
    out = Path(args.out)
    envoy_config.write(config, out)
    if args.validate:
        envoy_config.validate(out)
        print(f"{out}: valid", file=sys.stderr)
    return 0


def cmd_render_chart(args: argparse.Namespace) -> int:
    if args.check:
        if stale := kubernetes.stale_chart_files():
            names = ", ".join(str(p.relative_to(topology.ROOT)) for p in stale)
            print(f"meshctl: stale: {names}; run `make chart` and commit the result", file=sys.stderr)
            return 1
        print("helm/shopmesh/files is up to date", file=sys.stderr)
        return 0
    for path in kubernetes.write_chart_files():
        print(f"wrote {path.relative_to(topology.ROOT)}", file=sys.stderr)
    return 0


def _add_topology_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topology",
        type=Path,
        default=topology.DEFAULT_TOPOLOGY,
        help="topology file (default: envoy/topology.toml)",
    )
    parser.add_argument(
        "--bind", help="address of the public listener (default from the topology: 127.0.0.1)"
    )
    parser.add_argument("--public-port", type=int, help="port of the public listener (default 8080)")
    parser.add_argument(
        "--port-offset",
        type=int,
        default=0,
        help="add N to every port (gateway, internal, admin, broker, services) to run a second mesh",
    )
    parser.add_argument("--replicas", type=int, help="replicas of every service (default from the topology)")
    parser.add_argument(
        "--replicas-of",
        type=_replica_override,
        action="append",
        metavar="SERVICE=N",
        help="replicas of one service, e.g. --replicas-of orders=3 (repeatable)",
    )


def percent(text: str) -> float:
    """argparse type: a percentage, 0 to 100."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage between 0 and 100")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m meshctl",
        description="Run the shopmesh mesh locally and render its Envoy configuration.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser(
        "up",
        help="start a NATS broker, Envoy and every service replica, restart whichever exits; Ctrl-C stops them all",
        description="Start a NATS JetStream node, every service replica and Envoy on loopback, wait until all "
        "are healthy, print how to call the gateway, and stream every process's output with a name prefix. "
        "A process that exits on its own is restarted (after 0.5 s, doubling to 30 s while it keeps exiting), "
        "and `meshctl status` lists them all. Ctrl-C or SIGTERM stops everything cleanly. Services use SQLite files under RUN_DIR/data unless "
        "SVC_<NAME>_DATABASE_URL is set (e.g. SVC_ORDER_DATABASE_URL=postgresql://...), the local broker "
        "(streams under RUN_DIR/nats) unless SHOPMESH_NATS_URL names another, and write e-mails as .eml "
        "files under RUN_DIR/mail unless SHOPMESH_MAIL_DIR names another directory.",
    )
    _add_topology_options(up)
    up.add_argument("--run-dir", default="var", help="logs, data and generated config (default: var)")
    up.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for health (default 90)")
    up.add_argument(
        "--raw-logs",
        action="store_true",
        help="show the processes' JSON log lines as they are (default: compact text; files keep the JSON)",
    )
    up.add_argument(
        "--tls",
        action="store_true",
        help="serve the public listener over TLS with a self-signed certificate made in RUN_DIR/tls "
        "(clients pin it: curl --cacert, grpcurl -cacert)",
    )
    up.add_argument(
        "--trace-sampling",
        type=percent,
        default=100.0,
        metavar="PERCENT",
        help="percent of new requests traced (default 100: every one, to look at; a production-like 1 makes "
        "tracing nearly free). A client may force a trace with an `x-client-trace-id` header only where "
        "envoy/topology.toml sets gateway.trust_client_trace_id (off by default).",
    )
    up.add_argument(
        "--monitoring",
        action="store_true",
        help="also start a local Prometheus (Debian's prometheus package, installed on first use) scraping "
        "every replica and Envoy, with monitoring/rules loaded; prints its URL",
    )
    up.add_argument(
        "--monitoring-port",
        type=int,
        default=monitoring.DEFAULT_PORT,
        help=f"port of that Prometheus on 127.0.0.1 (default {monitoring.DEFAULT_PORT})",
    )
    up.set_defaults(func=cmd_up)

    status = sub.add_parser(
        "status",
        help="list the running mesh's processes: pid, uptime, restarts, health, port",
        description="Show every process of the mesh running from RUN_DIR (what `make up` started): its pid, "
        "state, uptime, how often the supervisor restarted it and how it last exited, and its health, "
        "probed now (gRPC health for the replicas, /ready for Envoy, /healthz for the broker, a connection "
        "for the trace sink). Exit status: 0 when every process is healthy, 2 when one is down or "
        "unhealthy, 1 when no mesh is running from RUN_DIR.",
    )
    status.add_argument("--run-dir", default="var", help="the running mesh's run directory (default: var)")
    status.set_defaults(func=cmd_status)

    show = sub.add_parser(
        "trace",
        help="print a trace (default: the latest) as a waterfall, with its log lines",
        description="Print one trace from the local trace sink's files (RUN_DIR/traces) as a waterfall: span "
        "tree, service, replica, duration, status and SQL, then every log line carrying its id.",
    )
    trace_cmd.add_arguments(show)
    show.set_defaults(func=trace_cmd.run)

    render = sub.add_parser(
        "render-envoy",
        help="print or write the Envoy bootstrap rendered from the topology",
        description="Render Envoy's bootstrap (JSON) from the topology and the contracts' descriptor set.",
    )
    _add_topology_options(render)
    render.add_argument(
        "--descriptor",
        default=str(topology.DEFAULT_DESCRIPTOR),
        help="descriptor set the transcoder loads (default: gen/descriptor.binpb)",
    )
    render.add_argument(
        "--internal-bind", default="127.0.0.1", help="address of the internal listener (default 127.0.0.1)"
    )
    render.add_argument("--out", default="-", help="output file, or - for stdout (default)")
    render.add_argument("--validate", action="store_true", help="run `envoy --mode validate` on the output")
    render.set_defaults(func=cmd_render_envoy)

    chart = sub.add_parser(
        "render-chart",
        help="write the Helm chart's Envoy config and topology summary (helm/shopmesh/files)",
        description="Render Envoy's bootstrap for Kubernetes (DNS clusters for the headless Services, listeners "
        "on 0.0.0.0, descriptor set inlined) and the topology summary the chart's templates read, from "
        "envoy/topology.toml and gen/descriptor.binpb, into helm/shopmesh/files.",
    )
    chart.add_argument("--check", action="store_true", help="fail if the committed files are stale")
    chart.set_defaults(func=cmd_render_chart)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (MeshError, envoy_config.EnvoyValidationError, ValueError) as exc:
        print(f"meshctl: {exc}", file=sys.stderr)
        return 1
