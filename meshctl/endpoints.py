"""Where a running local mesh can be reached: what `make up` prints and what the tests connect to."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Endpoints:
    """Where a running mesh can be reached."""

    gateway: str
    internal: str
    admin: str
    replicas: dict[str, list[str]]
    metrics: dict[str, list[str]] = field(default_factory=dict)
    """Each replica's Prometheus endpoint (host:port, path /metrics), by service."""
    envoy_metrics: str = ""
    """Envoy's metrics listener (host:port, path /stats/prometheus), if rendered."""
    traces: str = ""
    """Where spans go: the local sink's spans file, or the collector's endpoint."""
    certificate: str = ""
    """With TLS on the public listener: the (self-signed) certificate clients pin."""
    nats: str = ""
    """The broker the services publish to and consume from (nats://host:port)."""
    nats_monitor: str = ""
    """The local broker's monitoring endpoint (host:port: /healthz, /jsz); empty for an external broker."""
    mail_dir: str = ""
    """Where the notifications service writes e-mails as .eml files when no SMTP server is configured."""
    prometheus: str = ""
    """With monitoring: the local Prometheus (host:port: its UI, /alerts, and /api/v1)."""

    @property
    def rest(self) -> str:
        return f"{'https' if self.certificate else 'http'}://{self.gateway}"

    def scrape_targets(self) -> list[str]:
        """Every Prometheus scrape URL of the mesh."""
        urls = [f"http://{a}/metrics" for addrs in self.metrics.values() for a in addrs]
        if self.envoy_metrics:
            urls.append(f"http://{self.envoy_metrics}/stats/prometheus")
        return urls
