"""The per-call path every RPC of a service takes, built once per method.

In order, for each unary call of a service's own methods (health checks and reflection take none of it):

1. **trace**: the caller's context, and a SERVER span (opentelemetry-instrumentation-grpc) unless the trace
   is not recorded: when the caller decided not to sample, its context is only made current (log lines keep
   its trace id, outbound calls carry the decision on); a new trace is decided before any span exists, and a
   dropped one runs without the instrumentation at all;
2. **observe**: times the call, counts it under its final status code (RED metrics) and writes its log line,
   inside the span so the line carries its ids;
3. **map errors**: a `ServiceError` becomes its status with ErrorInfo / BadRequest details (meshkit.status),
   anything else INTERNAL with a reference to the logged traceback;
4. **validate**: the request against its contract's field rules (an undecodable request is the client's
   mistake too: INVALID_ARGUMENT, not grpcio's INTERNAL).

Why not grpc.ServerInterceptors: grpcio runs every interceptor's `intercept_service` on every call and each
builds its wrapper anew; here the wrapper of a method is built when the method is registered and a call runs
one function (a quarter of a cached GetProduct's CPU went to the interceptor chain and the log record).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.trace import Status, StatusCode

from meshkit import errors, logs
from meshkit.metrics import Metrics
from meshkit.status import NOT_CACHEABLE, code_for, to_status
from meshkit.telemetry import Tracing
from meshkit.validation import Validator

log = logging.getLogger(__name__)

OK = grpc.StatusCode.OK
_SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
"""Server-side errors per the semantic conventions for gRPC; a client's mistake is not the server's error."""
_BUGS = frozenset({grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS})


@dataclass(frozen=True)
class _Details(grpc.HandlerCallDetails):
    """What the tracing instrumentation reads of a call when its wrapper is built: the method alone (it reads
    the metadata from the call's context)."""

    method: str
    invocation_metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Undecodable:
    error: str


class CallPath:
    """Wraps a service's method handlers in the per-call path (module docstring)."""

    def __init__(
        self,
        *,
        metrics: Metrics | None,
        domain: str,
        services: Iterable[str],
        tracing: Tracing | None = None,
        validator: Validator | None = None,
    ) -> None:
        """`services`: the full names whose methods are validated and observed; `tracing`: the process's
        (None or disabled: no spans)."""
        self._metrics = metrics
        self._domain = domain
        self._prefixes = tuple(f"/{s}/" for s in services)
        self._tracing = tracing if tracing is not None and tracing.enabled else None
        self._tracer = self._tracing.server_interceptor() if self._tracing is not None else None
        self._validator = validator or Validator()

    def wrap(self, method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        if handler.unary_unary is None or not method.startswith(self._prefixes):
            return handler
        observed = self._observed(
            method, handler.unary_unary, checked=handler.request_deserializer is not None
        )
        run = observed if self._tracer is None else self._traced(method, observed, handler)
        deserialize = handler.request_deserializer

        def decoded(data: bytes) -> Any:
            # grpcio answers INTERNAL when a request does not parse: keep the error for the handler to report
            # as the client's mistake it is.
            try:
                return deserialize(data) if deserialize else data
            except Exception as exc:  # protobuf raises DecodeError, and others for other types
                return _Undecodable(f"{type(exc).__name__}: {exc}")

        return grpc.unary_unary_rpc_method_handler(
            run, request_deserializer=decoded, response_serializer=handler.response_serializer
        )

    def _observed(
        self, method: str, inner: Callable[[Any, Any], Any], checked: bool
    ) -> Callable[[Any, Any], Any]:
        """`checked`: requests are messages (not raw bytes), validated against their contract."""
        validate = self._validator.validate if checked else _accept
        domain = self._domain
        record = self._metrics.recorder(method) if self._metrics is not None else None
        line = logs.RpcLine(method)

        def observed(request: Any, context: grpc.ServicerContext) -> Any:
            start = time.perf_counter()
            code = None
            try:
                if type(request) is _Undecodable:
                    raise errors.InvalidArgument(
                        "",
                        f"the request is not a valid protobuf message ({request.error})",
                        reason="UNDECODABLE",
                    )
                validate(request)
                return inner(request, context)
            except errors.ServiceError as exc:
                code = code_for(exc)
                context.abort_with_status(to_status(exc, domain))
            except Exception:
                # ServicerContext.code() exists since grpcio 1.38 but is missing from the stubs.
                code = cast(Any, context).code()
                if code not in (None, OK):
                    raise  # the handler aborted on purpose
                code = grpc.StatusCode.INTERNAL
                ref = uuid.uuid4().hex[:12]
                log.exception("unexpected error in %s (ref %s)", method, ref)
                context.set_trailing_metadata((NOT_CACHEABLE,))
                context.abort(code, f"internal error (ref {ref}); see the service log")
            finally:
                if code is None:
                    code = cast(Any, context).code() or OK
                seconds = time.perf_counter() - start
                if record is not None:
                    record(code, seconds)
                _span_status(code)
                if code in _SERVER_ERRORS:
                    line.write(logging.ERROR if code in _BUGS else logging.WARNING, code, seconds)
                else:
                    line.write(logging.INFO, code, seconds)

        return observed

    def _traced(
        self, method: str, observed: Callable[[Any, Any], Any], handler: grpc.RpcMethodHandler[Any, Any]
    ) -> Callable[[Any, Any], Any]:
        assert self._tracer is not None
        plain = grpc.unary_unary_rpc_method_handler(
            observed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        # The instrumentation's wrapper depends on the method alone (it reads the metadata from each call's
        # context): built once here.
        wrapped = self._tracer.intercept_service(lambda _details: plain, _Details(method))
        spanned: Callable[[Any, Any], Any] = observed
        if wrapped is not None and wrapped.unary_unary is not None:
            spanned = wrapped.unary_unary
        tracing = self._tracing
        assert tracing is not None
        if not tracing.follows_caller:
            return spanned  # a sampler that may record what the caller dropped: every call gets its span
        decide_root, recorded_root = tracing.decide_root, tracing.recorded_root

        def run(request: Any, context: grpc.ServicerContext) -> Any:
            metadata = context.invocation_metadata()
            if not any(key == "traceparent" for key, _ in metadata):
                # A new trace (a direct call): decided here, so a dropped one costs nothing more.
                if not decide_root(method):
                    return observed(request, context)
                with recorded_root():
                    return spanned(request, context)
            parent = _dropped_by_caller(metadata)
            if parent is None:
                return spanned(request, context)
            token = otel_context.attach(parent)
            try:
                return observed(request, context)
            finally:
                otel_context.detach(token)

        return run


def _accept(_request: Any) -> None:
    pass


def _dropped_by_caller(metadata: Sequence[tuple[str, Any]]) -> otel_context.Context | None:
    """The caller's context when it carries a valid remote trace context marked "not sampled", read the way
    the instrumentation reads it; None otherwise (a malformed header is not a decision: the sampler decides,
    and the call gets its span)."""
    parent = extract(dict(metadata))
    span_context = trace.get_current_span(parent).get_span_context()
    if span_context.is_valid and span_context.is_remote and not span_context.trace_flags.sampled:
        return parent
    return None


def _span_status(code: grpc.StatusCode) -> None:
    """Puts the final status on the current server span.

    The instrumentation only sees statuses set through `abort`/`set_code`, not `abort_with_status` (how
    ServiceErrors are reported), so without this every mapped error would show as OK in the trace.
    """
    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code in _SERVER_ERRORS:
        span.set_status(Status(StatusCode.ERROR, code.name))


class WrappingRegistrar:
    """Stands in for a grpc.Server while a service registers its servicers, wrapping every method handler in
    the call path on its way to the real server."""

    def __init__(self, server: grpc.Server, path: CallPath) -> None:
        self._server = server
        self._path = path

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        wrapped = {name: self._path.wrap(f"/{service}/{name}", h) for name, h in handlers.items()}
        cast(Any, self._server).add_registered_method_handlers(service, wrapped)

    def add_generic_rpc_handlers(self, generic_handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(tuple(_WrappedGeneric(g, self._path) for g in generic_handlers))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


class _WrappedGeneric(grpc.GenericRpcHandler):
    """A generic handler whose handlers are wrapped once per method (methods it does not know are not
    remembered: callers choose their names)."""

    def __init__(self, inner: grpc.GenericRpcHandler, path: CallPath) -> None:
        self._inner = inner
        self._path = path
        self._handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        found = self._handlers.get(method)
        if found is None:
            handler = self._inner.service(handler_call_details)
            if handler is None:
                return None
            found = self._handlers[method] = self._path.wrap(method, handler)
        return found


__all__ = ["CallPath", "WrappingRegistrar"]
