"""values.schema.json refuses values the API server would refuse, before anything reaches a cluster.

A value that lands in a label, a label selector, a nodeSelector, an annotation key or an object name passes
`helm template` and the offline Kubernetes schemas (they check types, not syntax) but not the live API server
(tests/cluster proves the refusal there): `a_b-c.` as a label value was found that way. The schema now holds
the API server's syntax for each such field, so `helm lint` and `helm install` stop at the value's path.
"""

from __future__ import annotations

import pytest

from tests.helm.conftest import CHART, helm, template_args

SCHEMA_ERROR = "values don't meet the specifications of the schema"


@pytest.mark.parametrize(
    ("override", "path"),
    [
        # Label values: at most 63 characters of [-A-Za-z0-9_.], alphanumeric at both ends.
        ("commonLabels.team=a_b-c.", "/commonLabels/team"),
        ("commonLabels.team=" + "a" * 64, "/commonLabels/team"),
        ("services.users.podLabels.tier=-front", "/services/users/podLabels/tier"),
        ("envoy.podLabels.tier=a b", "/envoy/podLabels/tier"),
        ("services.orders.nodeSelector.pool=gpu!", "/services/orders/nodeSelector/pool"),
        ("envoy.nodeSelector.pool=edge_", "/envoy/nodeSelector/pool"),
        ("postgresql.nodeSelector.disk=ssd.", "/postgresql/nodeSelector/disk"),
        ("nats.nodeSelector.disk=.ssd", "/nats/nodeSelector/disk"),
        (
            "observability.prometheus.podMonitors.labels.release=kube prometheus",
            "/podMonitors/labels/release",
        ),
        ("observability.prometheus.rules.labels.release=_x", "/rules/labels/release"),
        # Label and annotation keys: [DNS-subdomain prefix/]name.
        ("commonLabels.Team_Name/x=1", "invalid propertyName 'Team_Name/x'"),
        ("envoy.podAnnotations.a/b/c=x", "invalid propertyName 'a/b/c'"),
        ("envoy.service.annotations.-lb=x", "invalid propertyName '-lb'"),
        ("services.users.serviceAccount.annotations.x_=y", "invalid propertyName 'x_'"),
        # Object names (DNS subdomains) and Secret keys.
        ("postgresql.persistence.storageClass=Fast_SSD", "/postgresql/persistence/storageClass"),
        ("nats.persistence.storageClass=SSD", "/nats/persistence/storageClass"),
        ("jwt.existingSecret=My_Secret", "/jwt/existingSecret"),
        ("postgresql.auth.existingSecret=pg secret", "/postgresql/auth/existingSecret"),
        ("notifications.smtp.existingSecret=smtp/url", "/notifications/smtp/existingSecret"),
        ("notifications.smtp.existingSecretKey=smtp url", "/notifications/smtp/existingSecretKey"),
        ("services.users.serviceAccount.name=Users", "/services/users/serviceAccount/name"),
    ],
)
def test_schema_refuses_what_the_api_server_refuses(override: str, path: str) -> None:
    # --set-string: the value reaches the schema as the string typed, as a values file would give it.
    for args in (
        template_args("--set-string", override),
        ["lint", "--strict", str(CHART), "--set-string", override],
    ):
        proc = helm(*args)
        assert proc.returncode != 0, f"helm {args[0]} accepted {override}"
        assert SCHEMA_ERROR in (proc.stderr + proc.stdout)
        assert path in (proc.stderr + proc.stdout), proc.stderr + proc.stdout


def test_schema_refuses_a_bad_external_database_secret() -> None:
    proc = helm(
        *template_args(
            "--set",
            "postgresql.enabled=false",
            "--set-string",
            "externalDatabase.existingSecret=DB",
            "--set-string",
            "externalDatabase.secretKeys.users=users url",
        )
    )
    assert proc.returncode != 0
    assert "/externalDatabase/existingSecret" in proc.stderr
    assert "/externalDatabase/secretKeys/users" in proc.stderr


@pytest.mark.parametrize(
    "override",
    [
        "commonLabels.team=a_b-c",
        "commonLabels.example\\.com/team=A.b-C_d9",
        "commonLabels.empty=",
        "commonLabels.team=" + "a" * 63,
        "envoy.podAnnotations.example\\.com/note=any text: even spaces, slashes / and a_b-c.",
        "services.users.nodeSelector.kubernetes\\.io/arch=amd64",
        "postgresql.persistence.storageClass=fast.ssd-1",
        "jwt.existingSecret=shopmesh-jwt.v2",
        "notifications.smtp.existingSecretKey=smtp_url.v1",
    ],
)
def test_schema_accepts_what_the_api_server_accepts(override: str) -> None:
    proc = helm(*template_args("--set-string", override))
    assert proc.returncode == 0, proc.stderr
