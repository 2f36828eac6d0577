"""The node's pod network (devkit/kube/node.py): pods of their own network namespace get an IP of the node's
podCIDR from the bridge CNI plugin, reach each other, and reach a ClusterIP Service through kube-proxy's iptables
rules, as does this host; CoreDNS resolves a Service's name in a pod, and a headless Service's name to every ready
pod (what the chart's Envoy DNS clusters resolve). Nothing leaves the machine: the pods have no default route and the host forwards nothing
off the bridge (devkit/kube/node.py's network rule).
"""

from __future__ import annotations

import ipaddress
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from devkit.kube.controlplane import SERVICE_CIDR
from devkit.kube.node import POD_CIDR
from tests.cluster.conftest import TAINT, Node, wait_for
from tests.cluster.pods import chart_pod

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1800)]

NAMESPACE = "pod-network"
PORT = 8080
# Answers every GET with the pod's name, so a caller sees which pod a Service sent it to.
SERVE = (
    "import http.server, os\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = os.environ['POD_NAME'].encode()\n"
    "        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "    def log_message(self, *args): pass\n"
    f"http.server.ThreadingHTTPServer(('0.0.0.0', {PORT}), H).serve_forever()\n"
)
# GETs each URL given, prints one JSON list of the answers (or the errors).
FETCH = (
    "import json, sys, urllib.request\n"
    "out = []\n"
    "for url in sys.argv[1:]:\n"
    "    try: out.append(urllib.request.urlopen(url, timeout=5).read().decode())\n"
    "    except Exception as e: out.append(repr(e))\n"
    "print(json.dumps(out))\n"
)
SERVERS = ("web-0", "web-1")


def _server(node: Node, name: str) -> dict[str, Any]:
    container = {
        "command": ["python", "-c", SERVE],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [{"containerPort": PORT}],
        "readinessProbe": {"httpGet": {"port": PORT, "path": "/"}, "periodSeconds": 1},
    }
    return chart_pod(
        node, NAMESPACE, name, container, metadata={"labels": {"app": "web"}}, tolerations=[TAINT]
    )


def _service(name: str, headless: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": PORT}]}
    if headless:
        spec["clusterIP"] = "None"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": spec,
    }


@pytest.fixture(scope="module")
def web(node: Node) -> dict[str, str]:
    """Two serving pods behind a ClusterIP Service `web`, both Ready: their names → their IPs."""
    proc = node.cluster.kubectl("create", "namespace", NAMESPACE)
    assert proc.returncode == 0, proc.stderr
    for name in SERVERS:
        node.apply(_server(node, name))
    node.apply(_service("web"))
    node.apply(_service("web-headless", headless=True))

    def ready() -> dict[str, str]:
        node.alive()
        ips = {}
        for pod in node.cluster.items("pod", "-n", NAMESPACE, "-l", "app=web"):
            conditions = pod["status"].get("conditions", [])
            if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                ips[pod["metadata"]["name"]] = pod["status"]["podIP"]
        return ips if len(ips) == len(SERVERS) else {}

    ips: dict[str, str] = wait_for("both web pods to be Ready", ready, 120)
    return ips


def _cluster_ip(node: Node, name: str) -> str:
    ip: str = node.cluster.get("service", name, "-n", NAMESPACE)["spec"]["clusterIP"]
    return ip


def _fetch_from(node: Node, pod: str, *urls: str) -> list[str]:
    proc = node.cluster.kubectl("exec", pod, "-n", NAMESPACE, "--", "python", "-c", FETCH, *urls)
    assert proc.returncode == 0, proc.stderr
    answers: list[str] = json.loads(proc.stdout)
    return answers


def test_each_pod_gets_its_own_ip_in_the_pod_cidr_and_no_default_route(
    node: Node, web: dict[str, str]
) -> None:
    addresses = [ipaddress.ip_address(ip) for ip in web.values()]
    assert len(set(addresses)) == len(SERVERS), web
    assert all(a in ipaddress.ip_network(POD_CIDR) for a in addresses), web
    # Its own network namespace: an eth0 besides lo, and routes only to the pod subnet and the Service range.
    proc = node.cluster.kubectl("exec", "web-0", "-n", NAMESPACE, "--", "cat", "/proc/net/route")
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()[1:]]
    destinations = set()
    for iface, dest, _gw, _flags, _ref, _use, _metric, mask, *_ in rows:
        assert iface == "eth0", rows
        d, m = (ipaddress.ip_address(bytes.fromhex(x)[::-1]) for x in (dest, mask))
        destinations.add(ipaddress.ip_network(f"{d}/{m}"))
    assert destinations == {ipaddress.ip_network(POD_CIDR), ipaddress.ip_network(SERVICE_CIDR)}, rows
    assert "0.0.0.0/0" not in {str(d) for d in destinations}
    assert node.cluster.get("node", node.name)["spec"]["podCIDR"] == POD_CIDR
    # The host forwards only what comes in on the bridge, not in general.
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "0"


def test_a_pod_reaches_another_pod_and_a_cluster_ip_service(node: Node, web: dict[str, str]) -> None:
    cluster_ip = _cluster_ip(node, "web")
    assert ipaddress.ip_address(cluster_ip) in ipaddress.ip_network(SERVICE_CIDR)
    urls = [f"http://{web['web-1']}:{PORT}/"] + [f"http://{cluster_ip}/"] * 8
    answers = _fetch_from(node, "web-0", *urls)
    assert answers[0] == "web-1", answers
    # kube-proxy's rules pick an endpoint at random per connection: both pods answer, web-0 by hairpin to itself.
    assert set(answers[1:]) <= set(SERVERS), answers


def test_this_host_reaches_a_cluster_ip_service(node: Node, web: dict[str, str]) -> None:
    cluster_ip = _cluster_ip(node, "web")
    seen = set()
    for _ in range(8):
        with urllib.request.urlopen(f"http://{cluster_ip}/", timeout=5) as response:
            seen.add(response.read().decode())
    assert seen <= set(SERVERS) and seen, seen


# Resolves each name given with the pod's resolver (its resolv.conf: kubelet's clusterDNS and search path), prints
# one JSON list of the sorted addresses of each (or the error).
RESOLVE = (
    "import json, socket, sys\n"
    "out = []\n"
    "for name in sys.argv[1:]:\n"
    "    try: out.append(sorted({a[4][0] for a in socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)}))\n"
    "    except Exception as e: out.append(repr(e))\n"
    "print(json.dumps(out))\n"
)


def test_a_service_name_resolves_in_a_pod_and_a_headless_one_to_every_ready_pod(
    node: Node, web: dict[str, str]
) -> None:
    cluster_ip = _cluster_ip(node, "web")
    names = [f"web.{NAMESPACE}.svc.cluster.local", "web", f"web-headless.{NAMESPACE}.svc.cluster.local"]

    def resolved() -> list[object]:
        proc = node.cluster.kubectl("exec", "web-0", "-n", NAMESPACE, "--", "python", "-c", RESOLVE, *names)
        assert proc.returncode == 0, proc.stderr
        out: list[object] = json.loads(proc.stdout)
        # The headless name lists the pods once their EndpointSlice says they are ready.
        return out if out[2] == sorted(web.values()) else []

    full, short, headless = wait_for("the headless Service to list both pods", resolved, 30)
    assert full == [cluster_ip] and short == [cluster_ip], (full, short)
    assert headless == sorted(web.values())
    # And the name works as a URL from the pod.
    assert _fetch_from(node, "web-0", f"http://web.{NAMESPACE}.svc.cluster.local/")[0] in SERVERS
