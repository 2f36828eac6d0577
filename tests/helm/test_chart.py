"""The Helm chart, proven offline: lint, Kubernetes schemas, the Envoy config it ships, its values schema, and
the properties an operator relies on (probes, drain, autoscaling, disruption budgets, network policies,
security contexts, secrets)."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kv_utils

from meshctl import envoy_config, kubernetes
from meshctl.topology import load
from svc_user.tokens import SigningKey
from tests.helm.conftest import (
    CHART,
    CI_VALUES,
    HELM_KUBE_VERSION,
    KUBE_VERSIONS,
    MATRIX,
    NAMESPACE,
    RELEASE,
    find,
    helm,
    of_kind,
    pod_specs,
    render,
    render_matrix,
    template_args,
)

TOPOLOGY = load()
SERVICES = [s.name for s in TOPOLOGY.services]
# The services Envoy has a cluster and routes for; the others (event consumers) have no API.
GATEWAY_SERVICES = [s.name for s in TOPOLOGY.gateway_services]
FULLNAME = f"{RELEASE}-shopmesh"
MESH = json.loads(kubernetes.MESH_FILE.read_text())


def test_the_matrix_covers_the_configurations_the_issue_names() -> None:
    assert {"bundled-db", "external-db", "loadbalancer", "autoscaling-off", "replicas-3"} <= set(CI_VALUES)
    assert "external-events" in CI_VALUES  # an external JetStream cluster and real SMTP


def test_generated_chart_files_are_fresh() -> None:
    stale = [str(p.relative_to(CHART)) for p in kubernetes.stale_chart_files()]
    assert not stale, f"stale chart files {stale}: run `make chart` and commit the result"


@pytest.mark.parametrize("name", list(MATRIX))
def test_helm_lint_strict(name: str) -> None:
    path = MATRIX[name]
    args = ["lint", "--strict", "--kube-version", HELM_KUBE_VERSION, str(CHART)]
    proc = helm(*args, *(["-f", str(path)] if path else []))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[WARNING]" not in proc.stdout and "[ERROR]" not in proc.stdout, proc.stdout


# -- every manifest against the Kubernetes API schemas ------------------------------------------------------


def _validate(doc: dict[str, Any], version: str) -> None:
    # strict: the -strict schemas forbid properties Kubernetes does not define (a misspelled field fails).
    try:
        kv_utils.validate(doc, version, strict=True)
    except kv_utils.SchemaNotFoundError as exc:
        pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("name", list(MATRIX))
def test_manifests_validate_against_kubernetes_schemas(name: str, version: str) -> None:
    docs = render_matrix(name)
    assert len(docs) > 20
    failures = []
    for doc in docs:
        try:
            _validate(doc, version)
        except kv_utils.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {exc.message}")
    assert not failures, "\n".join(failures)


def test_the_validator_rejects_unknown_fields(default_docs: list[dict[str, Any]]) -> None:
    """The control for the test above: strict validation is really strict."""
    deployment = json.loads(json.dumps(find(default_docs, "Deployment", f"{FULLNAME}-orders")))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kv_utils.ValidationError, match="livenesProbe"):
        _validate(deployment, KUBE_VERSIONS[-1])


# -- the Envoy configuration inside the chart ---------------------------------------------------------------


def _chart_envoy_config(docs: list[dict[str, Any]]) -> dict[str, Any]:
    configmap = find(docs, "ConfigMap", f"{FULLNAME}-envoy")
    config: dict[str, Any] = json.loads(configmap["data"]["envoy.json"])
    return config


def _host(service: str, namespace: str = NAMESPACE, domain: str = "cluster.local") -> str:
    return f"{FULLNAME}-{service}.{namespace}.svc.{domain}"


def _transcoders(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The public listener's transcoder, then the internal one's (it serves the JWKS to jwt_authn)."""
    found = [n for n in kubernetes._walk(config) if n.get("@type") == kubernetes.TRANSCODER_TYPE]
    assert len(found) == 2, found
    return found


def _transcoder(config: dict[str, Any]) -> dict[str, Any]:
    return _transcoders(config)[0]


@pytest.mark.parametrize("name", ["default", "replicas-3"])
def test_envoy_config_from_the_chart_passes_envoy_validate(name: str, tmp_path: Path) -> None:
    config = _chart_envoy_config(render_matrix(name))
    text = json.dumps(config)
    assert "__SHOPMESH_" not in text, "a placeholder host was not replaced"
    # The /docs files are read from the image's gen/ (the Dockerfile copies the repository's): validate with those.
    config = json.loads(kubernetes.outside_image(text))
    path = tmp_path / "envoy.json"
    envoy_config.write(config, path)
    envoy_config.validate(path)  # raises with Envoy's output


def test_envoy_config_is_the_renderers_with_this_releases_hosts(default_docs: list[dict[str, Any]]) -> None:
    """Same source as `make up`: the chart's config is the rendered file with only the hosts substituted."""
    text = json.dumps(_chart_envoy_config(default_docs))
    for service in GATEWAY_SERVICES:
        text = text.replace(json.dumps(_host(service)), json.dumps(kubernetes.host_placeholder(service)))
    # the committed file, which test_generated_chart_files_are_fresh holds to the renderer's output
    assert json.loads(text) == json.loads(kubernetes.ENVOY_FILE.read_text())


def test_envoy_config_routes_every_public_rpc_and_clusters_every_service(
    default_docs: list[dict[str, Any]], tmp_path: Path
) -> None:
    config = _chart_envoy_config(default_docs)
    # Public methods per the descriptor set inlined in the config itself, checked against the repository's.
    descriptor = tmp_path / "descriptor.binpb"
    descriptor.write_bytes(base64.b64decode(_transcoder(config)["protoDescriptorBin"]))
    public = envoy_config.public_methods(descriptor)
    assert public == envoy_config.public_methods(kubernetes.DEFAULT_DESCRIPTOR)

    listeners = {x["name"]: x for x in config["staticResources"]["listeners"]}
    assert set(listeners) == {
        "public",
        "internal",
        "metrics",
    }  # metrics: tests/helm/test_observability_chart.py
    for name in ("public", "internal"):
        assert listeners[name]["address"]["socketAddress"]["address"] == "0.0.0.0"
    assert listeners["public"]["address"]["socketAddress"]["portValue"] == MESH["gateway"]["publicPort"]
    assert listeners["internal"]["address"]["socketAddress"]["portValue"] == MESH["gateway"]["internalPort"]
    assert config["admin"]["address"]["socketAddress"] == {
        "address": "127.0.0.1",
        "portValue": MESH["gateway"]["adminPort"],
    }

    (hcm,) = listeners["public"]["filterChains"][0]["filters"]
    (vhost,) = hcm["typedConfig"]["routeConfig"]["virtualHosts"]
    # every route but the /docs files (direct responses)
    routes = {r["match"].get("path"): r["route"] for r in vhost["routes"] if "route" in r}
    for service in TOPOLOGY.gateway_services:
        for grpc_service in service.grpc_services:
            assert public[grpc_service], f"{grpc_service} has no public RPC"
            for method in public[grpc_service]:
                route = routes.get(f"/{grpc_service}/{method}")
                assert route is not None, f"no public route for {grpc_service}/{method}"
                assert route["cluster"] == service.name
                assert route["retryPolicy"]["numRetries"] >= 1
                assert route["retryPolicy"]["retryOn"]

    # the internal listener (orders' calls) reaches every service, with retries too (per path or per prefix)
    (internal_hcm,) = listeners["internal"]["filterChains"][0]["filters"]
    (internal_vhost,) = internal_hcm["typedConfig"]["routeConfig"]["virtualHosts"]
    for service in TOPOLOGY.gateway_services:
        prefixes = tuple(f"/{g}/" for g in service.grpc_services)
        to_service = [r for r in internal_vhost["routes"] if r["route"]["cluster"] == service.name]
        assert to_service, f"no internal route to {service.name}"
        for route in to_service:
            assert (route["match"].get("path") or route["match"].get("prefix", "")).startswith(prefixes)
            assert route["route"]["retryPolicy"]["numRetries"] >= 1

    clusters = {c["name"]: c for c in config["staticResources"]["clusters"]}
    # Besides the services: in-pod loopback clusters for the JWKS fetch and the metrics listener.
    assert set(clusters) == {*GATEWAY_SERVICES, "jwks", "envoy_admin"}
    (jwks,) = clusters["jwks"]["loadAssignment"]["endpoints"][0]["lbEndpoints"]
    jwks_at = jwks["endpoint"]["address"]["socketAddress"]
    assert jwks_at == {"address": "127.0.0.1", "portValue": MESH["gateway"]["internalPort"]}
    for service in TOPOLOGY.gateway_services:
        cluster = clusters[service.name]
        assert cluster["clusterType"]["name"] == "envoy.clusters.dns"  # pods behind the headless Service
        assert cluster["clusterType"]["typedConfig"]["dnsLookupFamily"] == "V4_ONLY"
        (locality,) = cluster["loadAssignment"]["endpoints"]
        sockets = [e["endpoint"]["address"]["socketAddress"] for e in locality["lbEndpoints"]]
        assert sockets == [{"address": _host(service.name), "portValue": service.port}]
        (health_check,) = cluster["healthChecks"]
        assert health_check["grpcHealthCheck"]["serviceName"] == service.grpc_services[0]
        # Resilience: ejecting misbehaving pods. Lands with the renderer's outlier detection (resilience issue).
        assert cluster.get("outlierDetection"), f"cluster {service.name} has no outlier detection"


def test_descriptor_is_inlined_and_fits_a_configmap(default_docs: list[dict[str, Any]]) -> None:
    config = _chart_envoy_config(default_docs)
    for transcoder in _transcoders(config):
        assert "protoDescriptor" not in transcoder  # no path that exists only on the machine that rendered it
        assert (
            base64.b64decode(transcoder["protoDescriptorBin"]) == kubernetes.DEFAULT_DESCRIPTOR.read_bytes()
        )
    size = len(find(default_docs, "ConfigMap", f"{FULLNAME}-envoy")["data"]["envoy.json"].encode())
    assert size < 512 * 1024, f"Envoy's ConfigMap is {size} bytes; ConfigMaps stop at 1 MiB"


def test_hosts_follow_release_namespace_and_cluster_domain() -> None:
    docs = render("--set", "clusterDomain=k8s.example")
    config = _chart_envoy_config(docs)
    hosts = {
        c["name"]: c["loadAssignment"]["endpoints"][0]["lbEndpoints"][0]["endpoint"]["address"][
            "socketAddress"
        ]["address"]
        for c in config["staticResources"]["clusters"]
    }
    assert {s: hosts.pop(s) for s in GATEWAY_SERVICES} == {
        s: _host(s, domain="k8s.example") for s in GATEWAY_SERVICES
    }
    # The rest (envoy_admin behind the metrics listener) is in the pod.
    assert set(hosts.values()) <= {"127.0.0.1"}
    for service in GATEWAY_SERVICES:  # and each names a headless Service the chart creates
        svc = find(docs, "Service", f"{FULLNAME}-{service}")
        assert svc["spec"]["clusterIP"] == "None"


def test_config_checksum_rolls_envoy_when_the_config_changes(default_docs: list[dict[str, Any]]) -> None:
    def checksum(docs: list[dict[str, Any]]) -> str:
        template = find(docs, "Deployment", f"{FULLNAME}-envoy")["spec"]["template"]
        value: str = template["metadata"]["annotations"]["checksum/config"]
        return value

    assert re.fullmatch(r"[0-9a-f]{64}", checksum(default_docs))
    assert checksum(render("--set", "envoy.replicas=5")) == checksum(default_docs)
    assert checksum(render("--set", "clusterDomain=k8s.example")) != checksum(default_docs)


# -- the values schema ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("services.users.replicas=three", "at '/services/users/replicas': got string, want integer"),
        ("envoy.service.type=ExternalName", "at '/envoy/service/type': value must be one of"),
        # (a misspelt service name passes the schema and is refused by the templates: test_a_topology_service_...)
        ("services.payments.replica=2", "additional properties 'replica' not allowed"),
        ("envoy.service.nodePort=80", "/envoy/service/nodePort"),
        ("postgresql.enabled=false", "at '/externalDatabase/existingSecret': minLength"),
        ("nats.enabled=false", "at '/nats/url': minLength"),
        ("nats.url=http://nats:4222", "at '/nats/url'"),
        ("nats.jetstream.maxFileStore=1.5Gi", "at '/nats/jetstream/maxFileStore'"),
        ("nats.streamReplicas=0", "at '/nats/streamReplicas'"),
        ("notifications.smtp.url=mail.example.com:587", "at '/notifications/smtp/url'"),
    ],
)
def test_values_schema_rejects_bad_values(override: str, message: str) -> None:
    set_flag = "--set-string" if override.endswith("=three") else "--set"
    proc = helm(*template_args(set_flag, override))
    assert proc.returncode != 0
    assert "values don't meet the specifications of the schema" in proc.stderr
    assert message in proc.stderr, proc.stderr


def test_values_schema_is_a_valid_schema_that_the_defaults_and_matrix_meet() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    jsonschema.validate(defaults, schema)
    for path in CI_VALUES.values():  # each file is an override: merge it over the defaults
        values = json.loads(json.dumps(defaults))
        _merge(values, yaml.safe_load(path.read_text()))
        jsonschema.validate(values, schema)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def test_a_topology_service_without_a_values_block_gets_the_service_defaults() -> None:
    """A service added to the topology needs no values (docs/adding-a-service.md): a block, where there is one,
    is merged over serviceDefaults; a name the topology lacks is refused."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values["services"]) <= set(SERVICES)
    assert set(values["externalDatabase"]["secretKeys"]) <= set(SERVICES)
    docs = render("--set", "services.payments=null", "--set", "serviceDefaults.workers=7")

    def env(service: str) -> dict[str, Any]:
        (container,) = find(docs, "Deployment", f"{FULLNAME}-{service}")["spec"]["template"]["spec"][
            "containers"
        ]
        return {e["name"]: e.get("value") for e in container["env"]}

    assert env("payments")["SVC_PAYMENT_WORKERS"] == "7"  # the defaults
    assert env("orders")["SVC_ORDER_WORKERS"] == "16"  # its own block
    proc = helm(*template_args("--set", "services.nope.replicas=1"))
    assert proc.returncode != 0
    assert "services.nope is not a service of the topology" in proc.stderr


def test_conflicting_database_settings_fail_with_a_clear_message() -> None:
    proc = helm(*template_args("--set", "externalDatabase.existingSecret=db"))
    assert proc.returncode != 0
    assert "set postgresql.enabled=false to use the external databases" in proc.stderr


# -- services: Deployment, headless Service, HPA, PDB, ServiceAccount ----------------------------------------


@pytest.mark.parametrize("name", list(MATRIX))
def test_service_workloads(name: str) -> None:
    docs = render_matrix(name)
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    overrides = yaml.safe_load(MATRIX[name].read_text()) if MATRIX[name] else {}  # type: ignore[union-attr]
    for service in TOPOLOGY.services:
        wanted = {**values["services"][service.name], **overrides.get("services", {}).get(service.name, {})}
        autoscaling = {**values["services"][service.name]["autoscaling"], **wanted.get("autoscaling", {})}
        deployment = find(docs, "Deployment", f"{FULLNAME}-{service.name}")
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["python", "-m", service.module]
        env = {e["name"]: e for e in container["env"]}
        assert env[f"{service.env_prefix}_PORT"]["value"] == str(service.port)
        assert env[f"{service.env_prefix}_HOST"]["value"] == "0.0.0.0"
        assert [p["containerPort"] for p in container["ports"] if p["name"] == "grpc"] == [service.port]
        # gRPC probes on grpc.health.v1 (SERVING only while the service's database answers)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"] == {"port": service.port}, probe
        # rollouts never drop below the wanted capacity
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
        # graceful termination covers the preStop sleep and the service's drain
        drain = float(env[f"{service.env_prefix}_GRACE_SECONDS"]["value"])
        assert drain == wanted["drainSeconds"]
        sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
        assert pod["terminationGracePeriodSeconds"] >= sleep + drain + 5
        # replicas belong to the HPA when autoscaling
        hpas = [
            h
            for h in of_kind(docs, "HorizontalPodAutoscaler")
            if h["metadata"]["name"] == deployment["metadata"]["name"]
        ]
        if autoscaling["enabled"]:
            assert "replicas" not in spec
            (hpa,) = hpas
            assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
            (metric,) = hpa["spec"]["metrics"]
            assert metric["resource"]["name"] == "cpu"
            assert container["resources"]["requests"]["cpu"]  # utilisation needs a request
        else:
            assert spec["replicas"] == wanted["replicas"]
            assert not hpas
        pdb = find(docs, "PodDisruptionBudget", deployment["metadata"]["name"])
        assert pdb["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
        # headless Service on the topology's port
        svc = find(docs, "Service", f"{FULLNAME}-{service.name}")
        assert svc["spec"]["clusterIP"] == "None"
        assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(service.port, "grpc")]
        assert svc["spec"]["selector"] == spec["selector"]["matchLabels"]
        # its own ServiceAccount, without an API token
        account = find(docs, "ServiceAccount", pod["serviceAccountName"])
        assert account["automountServiceAccountToken"] is False
        assert pod["automountServiceAccountToken"] is False


def test_replicas_3_matrix_sets_three_pods_everywhere() -> None:
    docs = render_matrix("replicas-3")
    for service in SERVICES:
        assert find(docs, "Deployment", f"{FULLNAME}-{service}")["spec"]["replicas"] == 3
    orders = find(docs, "Deployment", f"{FULLNAME}-orders")["spec"]["template"]["spec"]
    assert orders["terminationGracePeriodSeconds"] == 5 + 20 + 10


def test_common_labels_on_every_resource(default_docs: list[dict[str, Any]]) -> None:
    for doc in default_docs:
        labels = doc["metadata"]["labels"]
        for key in ("name", "instance", "version", "managed-by", "part-of", "component"):
            assert f"app.kubernetes.io/{key}" in labels, (doc["kind"], doc["metadata"]["name"], key)
        assert labels["app.kubernetes.io/instance"] == RELEASE


# -- Envoy: Deployment and Services ----------------------------------------------------------------------------


def test_envoy_workload(default_docs: list[dict[str, Any]]) -> None:
    deployment = find(default_docs, "Deployment", f"{FULLNAME}-envoy")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"][:3] == ["envoy", "--config-path", "/etc/envoy/envoy.json"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "config"]
    assert volume["configMap"]["name"] == f"{FULLNAME}-envoy"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {
        "public": MESH["gateway"]["publicPort"],
        "internal": MESH["gateway"]["internalPort"],
        "metrics": MESH["gateway"]["metricsPort"],  # /stats/prometheus and /ready only
    }
    # admin is loopback-only: readiness asks it from inside the container, liveness is a TCP probe
    assert "127.0.0.1:9901/ready" in container["readinessProbe"]["exec"]["command"][-1]
    assert container["livenessProbe"]["tcpSocket"] == {"port": "public"}
    assert "drain_listeners" in container["lifecycle"]["preStop"]["exec"]["command"][-1]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    find(default_docs, "PodDisruptionBudget", f"{FULLNAME}-envoy")


@pytest.mark.parametrize(
    ("name", "kind"), [("default", "ClusterIP"), ("loadbalancer", "LoadBalancer"), ("nodeport", "NodePort")]
)
def test_envoy_service_type(name: str, kind: str) -> None:
    docs = render_matrix(name)
    public = find(docs, "Service", f"{FULLNAME}-envoy")
    assert public["spec"]["type"] == kind
    assert [p["targetPort"] for p in public["spec"]["ports"]] == ["public"]
    if kind == "NodePort":
        assert public["spec"]["ports"][0]["nodePort"] == 30080
    if kind == "LoadBalancer":
        assert public["spec"]["loadBalancerSourceRanges"] == ["203.0.113.0/24"]
    internal = find(docs, "Service", f"{FULLNAME}-envoy-internal")
    assert internal["spec"]["type"] == "ClusterIP"  # internal RPCs are never exposed
    assert [p["port"] for p in internal["spec"]["ports"]] == [MESH["gateway"]["internalPort"]]


def test_orders_calls_through_envoys_internal_service(default_docs: list[dict[str, Any]]) -> None:
    pod = find(default_docs, "Deployment", f"{FULLNAME}-orders")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["MESH_INTERNAL_ADDR"] == f"{FULLNAME}-envoy-internal:{MESH['gateway']['internalPort']}"


# -- security --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["default", "external-db"])
def test_every_pod_is_locked_down(name: str) -> None:
    specs = pod_specs(render_matrix(name))
    assert len(specs) >= 6
    for where, pod in specs.items():
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, where
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False, where
        for container in pod.get("initContainers", []) + pod["containers"]:
            ctx = container["securityContext"]
            label = f"{where}/{container['name']}"
            assert ctx["readOnlyRootFilesystem"] is True, label
            assert ctx["allowPrivilegeEscalation"] is False, label
            assert ctx["capabilities"] == {"drop": ["ALL"]}, label
            assert "add" not in ctx["capabilities"], label


def _rules_allow(policy: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = policy["spec"].get(direction, [])
    return rules


def _selects(peer: dict[str, Any], component: str) -> bool:
    selector = peer.get("podSelector", {})
    if selector.get("matchLabels", {}).get("app.kubernetes.io/component") == component:
        return True
    return any(
        e["key"] == "app.kubernetes.io/component" and e["operator"] == "In" and component in e["values"]
        for e in selector.get("matchExpressions", [])
    )


def test_network_policies_default(default_docs: list[dict[str, Any]]) -> None:
    internal_port, broker_port = MESH["gateway"]["internalPort"], MESH["broker"]["port"]
    for service in TOPOLOGY.services:
        policy = find(default_docs, "NetworkPolicy", f"{FULLNAME}-{service.name}")
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == service.name
        wanted = [(5432, "TCP"), (broker_port, "TCP"), (53, "UDP"), (53, "TCP")]
        if service.behind_gateway:
            (ingress,) = _rules_allow(policy, "ingress")  # only Envoy, only on the service's port
            assert [_selects(p, "envoy") for p in ingress["from"]] == [True]
            assert ingress["ports"] == [{"port": service.port, "protocol": "TCP"}]
            wanted.append((internal_port, "TCP"))
        else:  # an event consumer: nobody calls it, and it calls no service
            assert "ingress" not in policy["spec"] and "Ingress" in policy["spec"]["policyTypes"]
        egress = _rules_allow(policy, "egress")
        allowed = sorted((p["port"], p["protocol"]) for rule in egress for p in rule["ports"])
        assert allowed == sorted(wanted)
        for rule in egress:
            ports = {p["port"] for p in rule["ports"]}
            if internal_port in ports:
                assert [_selects(p, "envoy") for p in rule["to"]] == [True]
            if 5432 in ports:
                assert [_selects(p, "postgresql") for p in rule["to"]] == [True]
            if broker_port in ports:
                assert [_selects(p, "nats") for p in rule["to"]] == [True]
    envoy = find(default_docs, "NetworkPolicy", f"{FULLNAME}-envoy")
    public_rule, internal_rule = _rules_allow(envoy, "ingress")
    assert public_rule["ports"] == [{"port": MESH["gateway"]["publicPort"], "protocol": "TCP"}]
    assert "from" not in public_rule  # the public entry point
    assert internal_rule["ports"] == [{"port": internal_port, "protocol": "TCP"}]
    assert [s for s in SERVICES if _selects(internal_rule["from"][0], s)] == GATEWAY_SERVICES
    assert not _selects(internal_rule["from"][0], "envoy")
    egress_ports = {p["port"] for rule in _rules_allow(envoy, "egress") for p in rule["ports"]}
    assert egress_ports == {s.port for s in TOPOLOGY.gateway_services} | {53}
    for store, port in (("postgresql", 5432), ("nats", broker_port)):
        policy = find(default_docs, "NetworkPolicy", f"{FULLNAME}-{store}")
        (store_ingress,) = _rules_allow(policy, "ingress")  # the services, on the one port; nothing else
        assert all(_selects(store_ingress["from"][0], s) for s in SERVICES)
        assert not _selects(store_ingress["from"][0], "envoy")
        assert store_ingress["ports"] == [{"port": port, "protocol": "TCP"}]
        assert "egress" not in policy["spec"] and "Egress" in policy["spec"]["policyTypes"]


def test_network_policies_external_db_and_restricted_gateway() -> None:
    docs = render("-f", str(CI_VALUES["external-db"]), "-f", str(CI_VALUES["loadbalancer"]))
    for service in SERVICES:
        egress = _rules_allow(find(docs, "NetworkPolicy", f"{FULLNAME}-{service}"), "egress")
        (db,) = [r for r in egress if {"port": 5432, "protocol": "TCP"} in r["ports"]]
        assert db["to"] == [{"ipBlock": {"cidr": "10.20.0.0/16"}}]
        (otlp,) = [r for r in egress if {"port": 4317, "protocol": "TCP"} in r["ports"]]
        assert otlp["to"][0]["namespaceSelector"]
    assert not [d for d in of_kind(docs, "NetworkPolicy") if d["metadata"]["name"].endswith("-postgresql")]
    public_rule = _rules_allow(find(docs, "NetworkPolicy", f"{FULLNAME}-envoy"), "ingress")[0]
    assert public_rule["from"][0] == {"ipBlock": {"cidr": "203.0.113.0/24"}}
    assert _selects(public_rule["from"][1], "test")  # `helm test` still reaches the gateway


def test_network_policies_can_be_turned_off() -> None:
    assert not of_kind(render("--set", "networkPolicy.enabled=false"), "NetworkPolicy")


# -- secrets and databases ----------------------------------------------------------------------------------------


def _secret_refs(docs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    refs = set()
    for node in kubernetes._walk(docs):
        if "secretKeyRef" in node:
            refs.add((node["secretKeyRef"]["name"], node["secretKeyRef"]["key"]))
        if "secretName" in node:
            for item in node.get("items", []):
                refs.add((node["secretName"], item["key"]))
    return refs


def test_nothing_secret_in_the_values() -> None:
    text = (CHART / "values.yaml").read_text()
    assert "PRIVATE KEY" not in text
    values = yaml.safe_load(text)
    for node in kubernetes._walk(values):
        for key, value in node.items():
            if re.search(r"password|secret$|token$", key, re.IGNORECASE):
                assert value in ("", None), f"{key} has a default value"


def test_generated_secrets_are_complete_and_kept(default_docs: list[dict[str, Any]], tmp_path: Path) -> None:
    secrets = {s["metadata"]["name"]: s for s in of_kind(default_docs, "Secret")}
    assert set(secrets) == {f"{FULLNAME}-jwt", f"{FULLNAME}-postgresql"}
    for secret in secrets.values():
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    # every secret reference resolves to a generated key
    provided = {(name, key) for name, s in secrets.items() for key in s["data"]}
    assert _secret_refs(default_docs) <= provided
    # the generated signing key is one the users service loads (EC P-256)
    pem = tmp_path / "jwt.pem"
    pem.write_bytes(base64.b64decode(secrets[f"{FULLNAME}-jwt"]["data"]["jwt-es256.pem"]))
    assert SigningKey.load_or_create(pem, create=False).kid
    passwords = secrets[f"{FULLNAME}-postgresql"]["data"]
    assert sorted(passwords) == sorted(["postgres-password", *(f"{s}-password" for s in SERVICES)])
    decoded = [base64.b64decode(v).decode() for v in passwords.values()]
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", p) for p in decoded)  # URL-safe: they go into database URLs
    assert len(set(decoded)) == len(decoded)
    users = find(default_docs, "Deployment", f"{FULLNAME}-users")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in users["env"]}
    # a missing key fails loudly instead of each pod creating its own
    assert env["SVC_USER_JWT_KEY_CREATE"] == "false"


def test_bundled_database(default_docs: list[dict[str, Any]]) -> None:
    statefulset = find(default_docs, "StatefulSet", f"{FULLNAME}-postgresql")
    assert statefulset["spec"]["replicas"] == 1
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "8Gi"
    script = find(default_docs, "ConfigMap", f"{FULLNAME}-postgresql-init")["data"][
        "10-shopmesh-databases.sh"
    ]
    # The script runs on a fresh volume (initdb.d) and again at every start of the pod, on the live server, so
    # that a service added by an upgrade gets its database too (tests/helm/test_bundled_postgres.py runs it).
    pod = statefulset["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert set(containers) == {"postgresql", "databases"}
    init_volume = next(
        v["name"] for v in pod["volumes"] if v.get("configMap", {}).get("name", "").endswith("-init")
    )
    mounted = {m["name"]: m["mountPath"] for m in containers["databases"]["volumeMounts"]}
    assert f"sh {mounted[init_volume]}/10-shopmesh-databases.sh" in containers["databases"]["command"][-1]
    assert {m["name"]: m["mountPath"] for m in containers["postgresql"]["volumeMounts"]}[init_volume] == (
        "/docker-entrypoint-initdb.d"
    )
    databases_env = {e["name"]: e for e in containers["databases"]["env"]}
    assert databases_env["PGHOST"]["value"] == "127.0.0.1"
    for service in SERVICES:
        key = databases_env[f"SHOPMESH_{service.upper()}_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"]
        assert key == f"{service}-password"
    for service in SERVICES:
        assert f'create {service} "$SHOPMESH_{service.upper()}_PASSWORD"' in script
        pod = find(default_docs, "Deployment", f"{FULLNAME}-{service}")["spec"]["template"]["spec"]
        prefix = TOPOLOGY.service(service).env_prefix
        for container in pod["initContainers"] + pod["containers"]:
            env = {e["name"]: e for e in container["env"]}
            url = env[f"{prefix}_DATABASE_URL"]["value"]
            assert url == (
                f"postgresql://shopmesh_{service}:$(SHOPMESH_DATABASE_PASSWORD)"
                f"@{FULLNAME}-postgresql:5432/shopmesh_{service}"
            )
            password = env["SHOPMESH_DATABASE_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert password["key"] == f"{service}-password"
            names = [e["name"] for e in container["env"]]  # $(VAR) expands only variables defined before it
            assert names.index("SHOPMESH_DATABASE_PASSWORD") < names.index(f"{prefix}_DATABASE_URL")
        (wait,) = pod["initContainers"]
        assert wait["command"][:4] == ["python", "-m", "meshctl.kubernetes", "wait-for-database"]
        assert wait["command"][4] == f"{prefix}_DATABASE_URL"


def test_external_database_and_existing_secrets() -> None:
    docs = render_matrix("external-db")
    assert not of_kind(docs, "Secret")
    assert [s["metadata"]["name"] for s in of_kind(docs, "StatefulSet")] == [f"{FULLNAME}-nats"]
    refs = _secret_refs(docs)
    # The signing keys' Secret is mounted whole (every key in it is one), so it is referred to by no key.
    assert refs == {("shopmesh-databases", f"{s}-url") for s in SERVICES}
    for service in TOPOLOGY.services:
        pod = find(docs, "Deployment", f"{FULLNAME}-{service.name}")["spec"]["template"]["spec"]
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        assert env[f"{service.env_prefix}_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "shopmesh-databases",
            "key": f"{service.name}-url",
        }
        # observability hooks: OTLP export and Prometheus annotations
        assert env["OTEL_TRACES_EXPORTER"]["value"] == "otlp"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"] == "http://otel-collector.observability:4317"
        annotations = find(docs, "Deployment", f"{FULLNAME}-{service.name}")["spec"]["template"]["metadata"][
            "annotations"
        ]
        assert annotations["prometheus.io/scrape"] == "true"


def test_tracing_and_scraping_are_off_by_default(default_docs: list[dict[str, Any]]) -> None:
    for service in TOPOLOGY.services:
        template = find(default_docs, "Deployment", f"{FULLNAME}-{service.name}")["spec"]["template"]
        assert "OTEL_TRACES_EXPORTER" not in {e["name"] for e in template["spec"]["containers"][0]["env"]}
        assert "prometheus.io/scrape" not in template["metadata"].get("annotations", {})


# -- operability: helm test, NOTES.txt ------------------------------------------------------------------------------


def test_helm_test_hook_checks_the_gateway(default_docs: list[dict[str, Any]]) -> None:
    pod = find(default_docs, "Pod", f"{FULLNAME}-test-gateway")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    assert container["command"][:4] == ["python", "-m", "meshctl.kubernetes", "check-gateway"]
    assert container["command"][4] == f"http://{FULLNAME}-envoy:8080"
    # only the services behind the gateway: the check reaches each through it
    assert container["command"][5:7] == ["--services", ",".join(sorted(GATEWAY_SERVICES))]
    assert pod["spec"]["restartPolicy"] == "Never"


def _notes(tmp_path: Path, *args: str) -> str:
    """NOTES.txt rendered offline (helm renders it only on install): a copy of the chart renders it via tpl."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    shutil.copy(chart / "templates" / "NOTES.txt", chart / "files" / "NOTES.txt")
    (chart / "templates" / "zz-notes.yaml").write_text(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "files/NOTES.txt") . | quote }}\n'
    )
    proc = helm(*template_args(*args, "--show-only", "templates/zz-notes.yaml", chart=chart))
    assert proc.returncode == 0, proc.stderr
    notes: str = yaml.safe_load(proc.stdout)["data"]["notes"]
    return notes


def test_notes_tell_how_to_reach_the_gateway(tmp_path: Path) -> None:
    notes = _notes(tmp_path)
    assert f"kubectl -n {NAMESPACE} port-forward service/{FULLNAME}-envoy 8080:8080" in notes
    assert "grpcurl -plaintext $GW list" in notes
    assert "curl -s " in notes
    assert f"helm -n {NAMESPACE} test {RELEASE}" in notes
    assert "bundled single PostgreSQL" in notes
    assert "bundled single NATS JetStream pod" in notes
    assert "writes each e-mail as a .eml file" in notes
    lb = _notes(
        tmp_path / "lb",
        *("-f", str(CI_VALUES["loadbalancer"]), "-f", str(CI_VALUES["external-db"])),
        *("-f", str(CI_VALUES["external-events"])),
    )
    assert "status.loadBalancer.ingress" in lb and "port-forward" not in lb
    assert "bundled" not in lb and "generated" not in lb and ".eml" not in lb
