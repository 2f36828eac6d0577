"""Pods for the node tests: the shopmesh image run the way the chart runs it."""

from __future__ import annotations

from typing import Any

from devkit.kube.node import Node


def chart_pod(
    node: Node, namespace: str, name: str, container: dict[str, Any], **spec: Any
) -> dict[str, Any]:
    """A pod of the shopmesh image, run as the chart runs its services (helm/shopmesh/templates/services.yaml):
    uid/gid 10001, read-only root with an emptyDir on /tmp, every capability dropped, no privilege escalation,
    seccomp RuntimeDefault, no service-account token. `container` adds to its one container (command, probes,
    env, ports), `spec` to the pod's spec (tolerations, nodeName, hostNetwork, restartPolicy, ...)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, **spec.pop("metadata", {})},
        "spec": {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 1,
            "securityContext": {
                "runAsUser": 10001,
                "runAsGroup": 10001,
                "runAsNonRoot": True,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "main",
                    "image": node.image,
                    "imagePullPolicy": "Never",
                    "securityContext": {
                        "readOnlyRootFilesystem": True,
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    **container,
                }
            ],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
            **spec,
        },
    }
