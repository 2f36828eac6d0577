"""`helm upgrade` and `helm uninstall` of the chart against a live API server: what changes, what rolls, what
stays."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.cluster.conftest import CHART, Cluster, manifest_objects, wait_for

pytestmark = pytest.mark.cluster

RELEASE = "demo"
FULLNAME = f"{RELEASE}-shopmesh"
WORKLOADS = ("Deployment", "StatefulSet")
# Kinds a controller writes the status of: a status write bumps resourceVersion, so for these "unchanged" means
# the same generation (which only a change of the spec advances).
STATUS_KINDS = (*WORKLOADS, "HorizontalPodAutoscaler", "PodDisruptionBudget")
# The Secrets the chart generates and keeps (helm.sh/resource-policy: keep), found again with `lookup`.
GENERATED_SECRETS = (f"{FULLNAME}-jwt", f"{FULLNAME}-postgresql")
# Values that change Envoy's rendered config (the hosts of its clusters) and the bundled broker's config file.
CHANGED = ("--set", "clusterDomain=shop.internal", "--set", "nats.jetstream.maxMemoryStore=128Mi")


def snapshot(cluster: Cluster, namespace: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of the release, read back from the server, by (kind, name)."""
    objects = manifest_objects(cluster, RELEASE, namespace)
    listed = cluster.items(",".join(sorted({kind.lower() for kind, _ in objects})), "-n", namespace)
    by_key = {(o["kind"], o["metadata"]["name"]): o for o in listed}
    return {key: by_key[key] for key in objects}


def replicasets(cluster: Cluster, namespace: str) -> dict[str, set[str]]:
    """The ReplicaSets of each Deployment, by Deployment name."""
    owned: dict[str, set[str]] = {}
    for rs in cluster.items("replicasets", "-n", namespace):
        for ref in rs["metadata"].get("ownerReferences", []):
            owned.setdefault(ref["name"], set()).add(rs["metadata"]["name"])
    return owned


def settled(cluster: Cluster, namespace: str) -> bool:
    """Every workload's controller has seen its latest spec (and made its ReplicaSet or revision)."""
    workloads = cluster.items("deployments,statefulsets", "-n", namespace)
    owned = replicasets(cluster, namespace)
    return bool(workloads) and all(
        w.get("status", {}).get("observedGeneration") == w["metadata"]["generation"]
        and (w["kind"] == "StatefulSet" or w["metadata"]["name"] in owned)
        for w in workloads
    )


def install(cluster: Cluster, namespace: str, *args: str) -> None:
    proc = cluster.helm("install", RELEASE, str(CHART), "-n", namespace, "--create-namespace", *args)
    assert proc.returncode == 0, proc.stderr
    wait_for(f"the workloads of {namespace} reconciled", lambda: settled(cluster, namespace), 60, cluster)


def upgrade(cluster: Cluster, namespace: str, *args: str) -> None:
    proc = cluster.helm("upgrade", RELEASE, str(CHART), "-n", namespace, *args)
    assert proc.returncode == 0, proc.stderr
    wait_for(f"the workloads of {namespace} reconciled", lambda: settled(cluster, namespace), 60, cluster)


@pytest.fixture(scope="module")
def upgraded(cluster: Cluster) -> Iterator[str]:
    namespace = "lifecycle-upgrade"
    install(cluster, namespace)
    yield namespace


def _written(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What a write changed, but the bookkeeping (for the failure message)."""
    drop = ("resourceVersion", "managedFields")
    a = {**old, "metadata": {k: v for k, v in old["metadata"].items() if k not in drop}}
    b = {**new, "metadata": {k: v for k, v in new["metadata"].items() if k not in drop}}
    if a == b:
        return "nothing but its resourceVersion and managedFields: " + json.dumps(
            [old["metadata"].get("managedFields"), new["metadata"].get("managedFields")]
        )
    return f"{json.dumps(a, sort_keys=True)} -> {json.dumps(b, sort_keys=True)}"


def test_an_upgrade_with_nothing_changed_changes_no_object(cluster: Cluster, upgraded: str) -> None:
    before = snapshot(cluster, upgraded)
    sets_before = replicasets(cluster, upgraded)
    upgrade(cluster, upgraded)
    after = snapshot(cluster, upgraded)
    assert after.keys() == before.keys()
    for key, obj in after.items():
        old = before[key]
        assert obj["metadata"]["uid"] == old["metadata"]["uid"], f"{key} was replaced"
        if key[0] in STATUS_KINDS:
            if "generation" in old["metadata"]:
                assert obj["metadata"]["generation"] == old["metadata"]["generation"], f"{key}: spec changed"
            else:  # autoscaling/v2 HPAs have no generation
                assert obj["spec"] == old["spec"], f"{key}: spec changed"
        else:
            assert obj["metadata"]["resourceVersion"] == old["metadata"]["resourceVersion"], (
                f"{key} was written: {_written(old, obj)}"
            )
    for name in GENERATED_SECRETS:  # the signing key and the database passwords, byte for byte
        assert after[("Secret", name)]["data"] == before[("Secret", name)]["data"]
    assert replicasets(cluster, upgraded) == sets_before  # no Deployment rolled


def test_an_upgrade_with_a_changed_config_rolls_exactly_the_workloads_whose_pods_change(
    cluster: Cluster, upgraded: str
) -> None:
    # The oracle, offline: the workloads whose rendered pod template differs between the two sets of values.
    old, new = _templates(cluster, upgraded), _templates(cluster, upgraded, *CHANGED)
    must_roll = {key for key in old if old[key] != new[key]}
    # What the checksum annotations are for: a config file's change rolls the pods reading it, and only those.
    assert must_roll == {("Deployment", f"{FULLNAME}-envoy"), ("StatefulSet", f"{FULLNAME}-nats")}
    for key in must_roll:
        assert _checksum(old[key]) != _checksum(new[key]), (
            f"{key}: only its checksum annotation could roll it"
        )

    before = snapshot(cluster, upgraded)
    sets_before = replicasets(cluster, upgraded)
    upgrade(cluster, upgraded, *CHANGED)
    after = snapshot(cluster, upgraded)
    sets_after = replicasets(cluster, upgraded)
    for key in old:
        generation = (before[key]["metadata"]["generation"], after[key]["metadata"]["generation"])
        if key in must_roll:
            assert generation[1] == generation[0] + 1, f"{key} did not roll"
            assert _checksum(after[key]["spec"]["template"]) == _checksum(new[key])
        else:
            assert generation[1] == generation[0], f"{key} rolled"
        if key[0] == "Deployment":
            # The deployment controller makes a ReplicaSet for the new pod template, and only for it.
            grown = sets_after.get(key[1], set()) - sets_before.get(key[1], set())
            assert len(grown) == (1 if key in must_roll else 0), f"{key}: new ReplicaSets {grown}"
        else:
            revisions = (before[key]["status"]["updateRevision"], after[key]["status"]["updateRevision"])
            assert (revisions[0] != revisions[1]) == (key in must_roll), f"{key}: revisions {revisions}"
    for name in GENERATED_SECRETS:
        assert after[("Secret", name)]["data"] == before[("Secret", name)]["data"]
    assert (
        after[("ConfigMap", f"{FULLNAME}-envoy")]["data"]
        != before[("ConfigMap", f"{FULLNAME}-envoy")]["data"]
    )


def _templates(cluster: Cluster, namespace: str, *args: str) -> dict[tuple[str, str], Any]:
    proc = cluster.helm(
        "template", RELEASE, str(CHART), "-n", namespace, "--kube-version", _server_version(cluster), *args
    )
    assert proc.returncode == 0, proc.stderr
    return {
        (d["kind"], d["metadata"]["name"]): d["spec"]["template"]
        for d in yaml.safe_load_all(proc.stdout)
        if d and d["kind"] in WORKLOADS
    }


def _server_version(cluster: Cluster) -> str:
    proc = cluster.kubectl("version", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    return str(yaml.safe_load(proc.stdout)["serverVersion"]["gitVersion"])


def _checksum(template: dict[str, Any]) -> str | None:
    annotations: dict[str, str] = template.get("metadata", {}).get("annotations", {})
    return annotations.get("checksum/config")


# -- uninstall --------------------------------------------------------------------------------------------------


def namespace_contents(cluster: Cluster, namespace: str) -> set[tuple[str, str]]:
    """(kind, name) of everything in the namespace that the API can list, but its events."""
    proc = cluster.kubectl("api-resources", "--namespaced", "--verbs=list", "-o", "name")
    assert proc.returncode == 0, proc.stderr
    kinds = [k for k in proc.stdout.split() if k.split(".")[0] != "events"]
    return {(o["kind"], o["metadata"]["name"]) for o in cluster.items(",".join(kinds), "-n", namespace)}


def test_uninstall_leaves_only_the_kept_secrets_and_the_volume_claims(cluster: Cluster) -> None:
    namespace = "lifecycle-uninstall"
    install(cluster, namespace)
    # The StatefulSet controller creates each pod's claims from the volumeClaimTemplates; the claims are not
    # part of the release, and the StatefulSets retain them (Kubernetes' default) when they go.
    claims = {
        ("PersistentVolumeClaim", f"{template['metadata']['name']}-{sts['metadata']['name']}-{ordinal}")
        for sts in cluster.items("statefulsets", "-n", namespace)
        for template in sts["spec"].get("volumeClaimTemplates", [])
        for ordinal in range(sts["spec"]["replicas"])
    }
    assert len(claims) == 2  # the bundled PostgreSQL's and NATS'
    wait_for(
        "the StatefulSets' claims", lambda: claims <= namespace_contents(cluster, namespace), 60, cluster
    )
    kept = {name: cluster.get("secret", name, "-n", namespace)["data"] for name in GENERATED_SECRETS}

    proc = cluster.helm("uninstall", RELEASE, "-n", namespace)
    assert proc.returncode == 0, proc.stderr
    assert "These resources were kept due to the resource policy" in proc.stdout
    # What every namespace has (from the controller-manager), the kept Secrets, the claims; the garbage
    # collector removes the rest (ReplicaSets, pods, controller revisions, endpoint slices) after helm.
    leftovers = {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}
    leftovers |= {("Secret", name) for name in GENERATED_SECRETS} | claims
    wait_for(
        "only the documented leftovers after helm uninstall",
        lambda: namespace_contents(cluster, namespace) == leftovers,
        60,
        cluster,
    )

    # Installing the release again adopts the kept Secrets: the same signing key (tokens issued before stay
    # valid) and the passwords the database on the kept volume was initialised with.
    install(cluster, namespace)
    for name, data in kept.items():
        assert cluster.get("secret", name, "-n", namespace)["data"] == data
