"""The one place where service errors become gRPC statuses.

Every RPC handler runs inside the call path (meshkit.calls): a `ServiceError`
becomes its precise status code with google.rpc.ErrorInfo (and
google.rpc.BadRequest for bad fields) in the status details; anything else
becomes INTERNAL with a bland message, and the traceback goes to the log.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, cast

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from meshkit import errors

# Most specific first: the first matching class wins.
_CODES: list[tuple[type[errors.ServiceError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Aborted, grpc.StatusCode.ABORTED),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.DependencyFailed, grpc.StatusCode.INTERNAL),
]


def code_for(error: errors.ServiceError) -> grpc.StatusCode:
    for cls, code in _CODES:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.INTERNAL


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status(error: errors.ServiceError, domain: str) -> grpc.Status:
    code = code_for(error)
    details = [
        _pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=domain, metadata=error.metadata))
    ]
    if isinstance(error, errors.InvalidArgument):
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                        for v in error.violations
                    ]
                )
            )
        )
    status = status_pb2.Status(code=code.value[0], message=error.message, details=details)
    converted = rpc_status.to_status(status)
    return _Status(converted.code, converted.details, (*converted.trailing_metadata, NOT_CACHEABLE))


NOT_CACHEABLE = ("cache-control", "no-store")
"""On every error: an answer that failed is never reused. A failed call's status travels as headers alone, so
over REST this is a response header, and the gateway's public caching of catalog reads (added only where absent)
leaves such an answer alone."""


class _Status(namedtuple("_Status", ("code", "details", "trailing_metadata")), grpc.Status):
    """A grpc.Status (grpcio reads its three fields by name)."""


# A dependency's CANCELLED means it (or the proxy) gave up on the call, not that this service did: transient.
_FROM_GRPC: dict[grpc.StatusCode, type[errors.ServiceError]] = {
    grpc.StatusCode.CANCELLED: errors.Unavailable,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.ABORTED: errors.Aborted,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.Unavailable,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.Unavailable,
}


def from_rpc_error(error: grpc.RpcError, dependency: str) -> errors.ServiceError:
    """Turns another service's status into a ServiceError, keeping its reason and fields.

    Transport-level failures become UNAVAILABLE naming `dependency`; an
    INVALID_ARGUMENT from a dependency means this service sent a bad request,
    which is its own bug, so it surfaces as INTERNAL rather than blaming the
    caller.
    """
    code = error.code()
    text = error.details() or code.name
    reason, metadata = None, {}
    status = rpc_status.from_call(cast(grpc.Call, error))
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
    cls = _FROM_GRPC.get(code)
    if cls is errors.Unavailable:
        return errors.Unavailable(
            f"{dependency} is unavailable: {text}", reason=reason or "DEPENDENCY_UNAVAILABLE"
        )
    if cls is None:
        return errors.DependencyFailed(f"{dependency} failed: {code.name}: {text}", reason=reason)
    return cls(text, reason=reason, metadata=metadata)


__all__ = ["NOT_CACHEABLE", "code_for", "from_rpc_error", "to_status"]
