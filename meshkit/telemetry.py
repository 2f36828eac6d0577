"""Logging and OpenTelemetry tracing, configured once per process.

Tracing is off unless `OTEL_TRACES_EXPORTER` names an exporter: `otlp`
(OTLP/gRPC to `OTEL_EXPORTER_OTLP_ENDPOINT`, standard OTEL_* variables
honoured) or `console`. `OTEL_SDK_DISABLED=true` turns it off whatever else
is set. When off, no interceptor is installed and tracing costs nothing.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshkit.settings import Env, ServerSettings, SettingsError

_EXPORTERS = ("none", "console", "otlp")


@dataclass(frozen=True)
class TracingSettings:
    exporter: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TracingSettings:
        env = Env("", environ)
        if env.text("OTEL_SDK_DISABLED", "false").lower() == "true":
            return cls("none")
        exporter = env.text("OTEL_TRACES_EXPORTER", "none").lower()
        if exporter not in _EXPORTERS:
            raise SettingsError(f"OTEL_TRACES_EXPORTER={exporter!r}: choose one of {', '.join(_EXPORTERS)}")
        return cls(exporter)


def setup_logging(settings: ServerSettings) -> None:
    """One line per record on stderr, tagged with the replica (the launcher adds colour-free prefixes)."""
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format=f"%(asctime)s %(levelname)s {settings.replica} %(name)s: %(message)s",
        force=True,
    )


class Tracing:
    """The process's tracer provider, or nothing when tracing is off."""

    def __init__(
        self, settings: ServerSettings | None = None, tracing: TracingSettings | None = None
    ) -> None:
        self.provider: Any = None
        if settings is None or tracing is None or tracing.exporter == "none":
            return
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

        resource = Resource.create(
            {"service.name": f"shopmesh-{settings.service}", "service.instance.id": settings.replica}
        )
        exporter: SpanExporter
        if tracing.exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        else:
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporter = ConsoleSpanExporter()
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(self.provider)

    def server_interceptors(self) -> list[Any]:
        if self.provider is None:
            return []
        from opentelemetry.instrumentation.grpc import server_interceptor

        return [server_interceptor(tracer_provider=self.provider)]

    def client_interceptors(self) -> list[Any]:
        if self.provider is None:
            return []
        from opentelemetry.instrumentation.grpc import client_interceptor

        return [client_interceptor(tracer_provider=self.provider)]

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()
