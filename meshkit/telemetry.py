"""OpenTelemetry tracing, configured once per process by the standard `OTEL_*` variables.

* Export: `OTEL_TRACES_EXPORTER` = `otlp`, `console` or `none`. Unset, it is `otlp` when an OTLP endpoint is
  configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and `none` otherwise.
  OTLP goes over gRPC unless `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` is `http/protobuf`; the exporters read
  every other standard variable (endpoint, headers, timeout, certificate) themselves. The OTLP/gRPC exporter
  is built with the first batch of spans (`_DeferredOtlp`): a replica that has traced nothing yet never
  imports it. `OTEL_SDK_DISABLED=true`
  turns tracing off whatever else is set. `make up` points the services at the launcher's local sink
  (meshctl.otlp_sink), which writes spans under the run directory.
* Sampling: parent-based, always on for new traces (`OTEL_TRACES_SAMPLER` / `_ARG` override it), so a request
  Envoy sampled is traced end to end and one it dropped costs nothing downstream.
* Spans: a SERVER span per RPC (opentelemetry-instrumentation-grpc; health checks and reflection excluded), a
  CLIENT span per outbound call that sends W3C `traceparent` on (`ClientTracing`), and a CLIENT span per SQL
  statement run inside a traced RPC (`instrument_engine`: SQLAlchemy engine events, no extra package, because
  opentelemetry-instrumentation-sqlalchemy has no release matching this SDK). Spans are batched
  (BatchSpanProcessor) and exported off the request path.

When tracing is off nothing is installed: no interceptor, no SQLAlchemy listener.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import re
import threading
from collections import namedtuple
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from meshkit.logs import setup_logging
from meshkit.settings import Env, ServerSettings, SettingsError

_EXPORTERS = ("none", "console", "otlp")
_PROTOCOLS = ("grpc", "http/protobuf")
FORCE_TRACE_HEADER = "x-client-trace-id"
MAX_STATEMENT = 2000
"""db.statement is cut at this many characters (statements carry placeholders, never values)."""


@dataclass(frozen=True)
class TracingSettings:
    exporter: str
    protocol: str = "grpc"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TracingSettings:
        env = Env("", environ)
        if env.text("OTEL_SDK_DISABLED", "false").lower() == "true":
            return cls("none")
        has_endpoint = bool(
            env.raw("OTEL_EXPORTER_OTLP_ENDPOINT") or env.raw("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        )
        exporter = env.text("OTEL_TRACES_EXPORTER", "otlp" if has_endpoint else "none").lower()
        if exporter not in _EXPORTERS:
            raise SettingsError(f"OTEL_TRACES_EXPORTER={exporter!r}: choose one of {', '.join(_EXPORTERS)}")
        protocol = env.text(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", env.text("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        )
        if protocol not in _PROTOCOLS:
            raise SettingsError(
                f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: choose one of {', '.join(_PROTOCOLS)}"
            )
        return cls(exporter, protocol)


_VERB = re.compile(r"\s*(\w+)")
_TARGET = re.compile(r"\b(?:FROM|INTO|UPDATE|TABLE(?: IF NOT EXISTS)?)\s+\"?(\w+)", re.IGNORECASE)


def _span_name(statement: str) -> str:
    """`SELECT products`, `INSERT orders`: the operation and its first table (semantic conventions)."""
    verb = _VERB.match(statement)
    name = verb.group(1).upper() if verb else "SQL"
    target = _TARGET.search(statement)
    return f"{name} {target.group(1)}" if target and name != "BEGIN" else name


class _CallDetails(
    namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    ),
    grpc.ClientCallDetails,
):
    """The call details ClientTracing passes on (grpcio wants a ClientCallDetails it can read by name)."""


class ClientTracing(grpc.UnaryUnaryClientInterceptor):
    """A CLIENT span around each unary call, named like the server's (`/pkg.Service/Method`)."""

    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:

        method = client_call_details.method
        method = method.decode() if isinstance(method, bytes) else str(method)
        service, _, name = method.lstrip("/").rpartition("/")
        attributes = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
        with self._tracer.start_as_current_span(
            method, kind=SpanKind.CLIENT, attributes=attributes, set_status_on_exception=False
        ) as span:
            carrier: dict[str, str] = {}
            inject(carrier)  # traceparent (and tracestate) of this span
            span_context = span.get_span_context()
            if span_context.trace_flags.sampled:
                # Envoy decides by itself whether to record a request, whatever traceparent says; this header
                # makes its internal listener record exactly the calls recorded here (see envoy_observability).
                carrier[FORCE_TRACE_HEADER] = format(span_context.trace_id, "032x")
            details = _CallDetails(
                method,
                client_call_details.timeout,
                [*(client_call_details.metadata or ()), *carrier.items()],
                client_call_details.credentials,
                client_call_details.wait_for_ready,
                client_call_details.compression,
            )
            outcome = continuation(details, request)
            code = outcome.code()  # the blocking call has finished: this does not wait
            span.set_attribute("rpc.grpc.status_code", code.value[0])
            if code != grpc.StatusCode.OK:
                span.set_status(Status(StatusCode.ERROR, code.name))
            return outcome


def _configured_exporter(tracing: TracingSettings) -> Any:
    """The SpanExporter OTEL_TRACES_EXPORTER / _PROTOCOL name (otlp over gRPC or HTTP, or console)."""
    if tracing.exporter == "otlp" and tracing.protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

        return HttpSpanExporter()
    if tracing.exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    return ConsoleSpanExporter()


class _DeferredOtlp:
    """The OTLP/gRPC exporter, built on the first batch of spans to export (on the span processor's thread).

    Importing it costs an idle replica 2 MB: its protobuf modules, and those of the metrics and logs exporters and
    the SDK's logs that it imports too. A replica that has not been asked for a traced call yet has no spans to
    send; the first batch builds it from the same variables, exactly as at start-up."""

    def __init__(self, tracing: TracingSettings) -> None:
        self._tracing = tracing
        self._exporter: Any = None
        self._lock = threading.Lock()

    def _built(self) -> Any:
        with self._lock:
            if self._exporter is None:
                self._exporter = _configured_exporter(self._tracing)
            return self._exporter

    def export(self, spans: Any) -> Any:
        return self._built().export(spans)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter is None or bool(self._exporter.force_flush(timeout_millis))

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        with self._lock:
            if self._exporter is not None:
                self._exporter.shutdown(timeout_millis=timeout_millis)


_ROOT_RECORDED: contextvars.ContextVar[bool] = contextvars.ContextVar("shopmesh_root_recorded", default=False)


@contextlib.contextmanager
def _root_recorded() -> Iterator[None]:
    token = _ROOT_RECORDED.set(True)
    try:
        yield
    finally:
        _ROOT_RECORDED.reset(token)


class _Decided:
    """The configured sampler, except for the root span of a call the call path already chose to record."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> Any:
        if _ROOT_RECORDED.get() and not trace.get_current_span(parent_context).get_span_context().is_valid:
            from opentelemetry.sdk.trace.sampling import Decision, SamplingResult

            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return self.inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return str(self.inner.get_description())


class Tracing:
    """The process's tracer provider, or nothing when tracing is off."""

    def __init__(
        self,
        settings: ServerSettings | None = None,
        tracing: TracingSettings | None = None,
        *,
        exporter: Any = None,
    ) -> None:
        """`exporter` (a SpanExporter) replaces the configured one: tests collect spans in memory."""
        self.provider: Any = None
        self.sampler: Any = None
        if settings is None or tracing is None or (tracing.exporter == "none" and exporter is None):
            return
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        # Resource.create also merges OTEL_RESOURCE_ATTRIBUTES (the chart adds the pod's name there).
        resource = Resource.create(
            {"service.name": f"shopmesh-{settings.service}", "service.instance.id": settings.replica}
        )
        if exporter is None:
            deferred = tracing.exporter == "otlp" and tracing.protocol == "grpc"
            exporter = _DeferredOtlp(tracing) if deferred else _configured_exporter(tracing)
        from opentelemetry.sdk.trace import sampling

        # The SDK's sampler from OTEL_TRACES_SAMPLER (default parent-based always-on), told of the decisions
        # the call path makes for new traces (see decide_root).
        self.sampler = sampling._get_from_env_or_default()
        self.provider = TracerProvider(resource=resource, sampler=cast(Any, _Decided(self.sampler)))
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(self.provider)

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def server_interceptor(self) -> Any:
        """The instrumentation's SERVER-span interceptor for meshkit.calls (which skips it for calls whose
        caller decided not to sample, when the sampler is parent-based); None when tracing is off."""
        if self.provider is None:
            return None
        from opentelemetry.instrumentation.grpc import server_interceptor

        # Health checks and reflection never reach it: meshkit.calls wraps only the service's own methods.
        return server_interceptor(tracer_provider=self.provider)

    @property
    def follows_caller(self) -> bool:
        """Whether the sampler honours the caller's decision (parent-based): a call the caller dropped can then
        skip the span altogether, and a new trace can be decided before any span exists (decide_root)."""
        from opentelemetry.sdk.trace.sampling import ParentBased

        return self.provider is not None and isinstance(self.sampler, ParentBased)

    def decide_root(self, name: str) -> bool:
        """The sampler's decision for a new trace of a call named `name`, made before its span: a dropped call
        then runs without the instrumentation (its wrapping costs a tenth of a cached read); a recorded one
        runs inside `recorded_root()`, where the span's own sampling agrees (sampling twice would record the
        square of the rate)."""
        decision = self.sampler.should_sample(None, random.getrandbits(128), name)
        return bool(decision.decision.is_sampled())

    @staticmethod
    def recorded_root() -> contextlib.AbstractContextManager[None]:
        return _root_recorded()

    def client_interceptors(self) -> list[Any]:
        """For `grpc.intercept_channel`: a CLIENT span per call, its context sent as W3C `traceparent`.

        (opentelemetry-instrumentation-grpc's client interceptor only fits its own `grpcext` channels.)
        """
        if self.provider is None:
            return []
        return [ClientTracing(self.provider.get_tracer("meshkit.clients"))]

    def instrument_engine(self, engine: Any) -> None:
        """A CLIENT span per statement the engine runs inside a traced call (none outside one: health pings
        and background sweeps stay out of the traces)."""
        if self.provider is None:
            return
        from sqlalchemy import event

        tracer = self.provider.get_tracer("meshkit.db")
        url = engine.url
        base: dict[str, Any] = {
            "db.system": "postgresql" if url.get_backend_name() == "postgresql" else "sqlite"
        }
        if url.database:
            base["db.name"] = url.database.rsplit("/", 1)[-1]
        if url.host:
            base["server.address"] = url.host
        if url.port:
            base["server.port"] = url.port
        names: dict[str, str] = {}

        @event.listens_for(engine, "before_cursor_execute")
        def _before(
            _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
        ) -> None:
            if context is None or not trace.get_current_span().is_recording():
                return
            name = names.get(statement)
            if name is None:
                name = names[statement] = _span_name(statement) if len(names) < 4096 else "SQL"
            context._shopmesh_span = tracer.start_span(
                name,
                kind=SpanKind.CLIENT,
                attributes={**base, "db.statement": statement[:MAX_STATEMENT]},
            )

        @event.listens_for(engine, "after_cursor_execute")
        def _after(
            _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
        ) -> None:
            span = getattr(context, "_shopmesh_span", None)
            if span is not None:
                context._shopmesh_span = None
                span.end()

        @event.listens_for(engine, "handle_error")
        def _error(error_context: Any) -> None:
            context = error_context.execution_context
            span = getattr(context, "_shopmesh_span", None)
            if span is not None:
                context._shopmesh_span = None
                span.set_status(Status(StatusCode.ERROR, type(error_context.original_exception).__name__))
                span.end()

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


_W3C = TraceContextTextMapPropagator()


def traceparent(context: otel_context.Context | None = None) -> str:
    """The W3C `traceparent` of `context` (default: the current one), "" when it holds no valid span: what an
    event or a queued e-mail carries so the work it causes later continues the trace."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier, context)
    return carrier.get("traceparent", "")


def context_of(value: str) -> otel_context.Context | None:
    """The parent context a carried `traceparent` names; None (a new trace) when there is none."""
    return _W3C.extract({"traceparent": value}) if value else None


__all__ = ["Tracing", "TracingSettings", "context_of", "setup_logging", "traceparent"]
