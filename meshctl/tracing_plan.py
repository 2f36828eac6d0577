"""Where the local mesh's spans go (the local sink, a real collector, or nowhere), and what that means for
Envoy's tracer and each service's OTEL_* environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from meshctl import envoy_observability as observability
from meshctl.topology import Topology


@dataclass(frozen=True)
class TracingPlan:
    """Where the mesh's spans go, decided once from the launcher's environment.

    * `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: nowhere; Envoy is rendered without a tracer.
    * an OTLP endpoint (`OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`): a real collector. Services get the
      environment as it is (standard OTEL_* variables); Envoy's tracer points at the same host and port.
    * otherwise: the local sink on loopback (gateway.otlp_port), writing RUN_DIR/traces/spans.jsonl.
    """

    collector: observability.Collector | None
    sink_listen: str
    destination: str
    sink_dir: Path | None
    sampling: float = 100.0
    """Percent of new traces sampled, by Envoy and by the services for calls without a `traceparent`."""

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], topology: Topology, run_dir: Path, sampling: float = 100.0
    ) -> TracingPlan:
        disabled = env.get("OTEL_SDK_DISABLED", "").lower() == "true"
        if disabled or env.get("OTEL_TRACES_EXPORTER", "").lower() in ("none", "console"):
            return cls(None, "", "", None)
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if endpoint:
            protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            collector = observability.Collector.from_endpoint(endpoint, protocol or "grpc")
            return cls(collector, "", endpoint, None, sampling)
        port = topology.gateway.otlp_port
        if not port:
            return cls(None, "", "", None)
        sink_dir = run_dir / "traces"
        return cls(
            observability.Collector("127.0.0.1", port), f"127.0.0.1:{port}", str(sink_dir), sink_dir, sampling
        )

    def envoy_options(self) -> observability.Options:
        # Locally, spans reach the sink within a second (Envoy's default flush is every 5 s or 5 spans).
        return observability.Options(
            collector=self.collector,
            sampling=self.sampling,
            flush_interval_ms=1000 if self.sink_listen else None,
            metrics=True,
        )

    def _sampler_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """Services follow Envoy's decision (parent-based) and sample their own new traces at the same rate,
        unless the environment chose a sampler."""
        if self.sampling >= 100 or "OTEL_TRACES_SAMPLER" in env:
            return {}
        return {
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": str(self.sampling / 100),
        }

    def envoy_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """Envoy's resource detector reads OTEL_RESOURCE_ATTRIBUTES: name the replica in its spans."""
        if self.collector is None:
            return {}
        extra = env.get("OTEL_RESOURCE_ATTRIBUTES", "")
        return {"OTEL_RESOURCE_ATTRIBUTES": ",".join(a for a in ("service.instance.id=envoy-0", extra) if a)}

    def service_env(self, env: Mapping[str, str]) -> dict[str, str]:
        if self.collector is None:
            return {}
        if not self.sink_listen:
            return self._sampler_env(env)
        return {
            **self._sampler_env(env),
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://{self.sink_listen}",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
            # Spans reach the sink within half a second (the SDK's default batch delay is 5 s).
            "OTEL_BSP_SCHEDULE_DELAY": env.get("OTEL_BSP_SCHEDULE_DELAY", "500"),
        }
