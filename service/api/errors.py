"""The one map from domain errors to gRPC status codes with google.rpc details (AIP-193)."""

import re

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from service.domain.errors import (
    AlreadyExists,
    DomainError,
    EtagMismatch,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)

ERROR_DOMAIN = "finance-tracker"

# A status travels in the response trailers, which clients refuse beyond 8 to 16 KiB, and twice:
# the message percent-encoded, and the whole status base64-encoded. So the message and every
# field and description are cut to these many bytes of UTF-8, and the field violations that do
# not fit in MAX_VIOLATIONS_SIZE bytes are left out: at worst some 8 KiB in all.
MAX_MESSAGE_BYTES = 1000
MAX_DESCRIPTION_BYTES = 300
MAX_VIOLATIONS_SIZE = 2500

_REASON = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")


def _cut(text: str, limit: int) -> str:
    """`text`, or as much of it as fits in `limit` bytes of UTF-8 with an ellipsis."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - len("…".encode())].decode(errors="ignore") + "…"


def _status(
    code: int,
    error: DomainError,
    reason: str,
    *details: Message,
    metadata: dict[str, str] | None = None,
) -> status_pb2.Status:
    """A status for `error` with its details and an ErrorInfo saying `reason` (AIP-193)."""
    info = error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN, metadata=metadata)
    packed = []
    for detail in (*details, info):
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    return status_pb2.Status(code=code, message=_cut(str(error), MAX_MESSAGE_BYTES), details=packed)


def _resource_type(name: str) -> str:
    return f"{ERROR_DOMAIN}/{name}"


def _bad_request(error: InvalidArgument) -> error_details_pb2.BadRequest:
    bad_request = error_details_pb2.BadRequest()
    for v in error.violations:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=_cut(v.field, MAX_DESCRIPTION_BYTES),
            description=_cut(v.description, MAX_DESCRIPTION_BYTES),
        )
        if bad_request.ByteSize() + violation.ByteSize() > MAX_VIOLATIONS_SIZE:
            break
        bad_request.field_violations.append(violation)
    return bad_request


def to_status(error: DomainError) -> status_pb2.Status:
    """The google.rpc.Status, details included, that tells a caller about `error`."""
    match error:
        case InvalidArgument():
            return _status(
                code_pb2.INVALID_ARGUMENT, error, "INVALID_ARGUMENT", _bad_request(error)
            )
        case NotFound() | AlreadyExists():
            resource = error_details_pb2.ResourceInfo(
                resource_type=_resource_type(error.resource_type),
                resource_name=error.resource_name,
            )
            if isinstance(error, NotFound):
                return _status(code_pb2.NOT_FOUND, error, "RESOURCE_NOT_FOUND", resource)
            return _status(code_pb2.ALREADY_EXISTS, error, "RESOURCE_ALREADY_EXISTS", resource)
        case FailedPrecondition(violation=v):
            failure = error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type=v.type, subject=v.subject, description=v.description
                    )
                ]
            )
            reason = v.type if _REASON.fullmatch(v.type) else "FAILED_PRECONDITION"
            return _status(code_pb2.FAILED_PRECONDITION, error, reason, failure)
        case EtagMismatch():
            metadata = {"resource_name": error.resource_name}
            return _status(code_pb2.ABORTED, error, "ETAG_MISMATCH", metadata=metadata)
        case Unavailable():
            retry = error_details_pb2.RetryInfo()
            retry.retry_delay.FromMilliseconds(1000)
            return _status(code_pb2.UNAVAILABLE, error, "DATABASE_UNAVAILABLE", retry)
    return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error")


def grpc_code(status: status_pb2.Status) -> grpc.StatusCode:
    """The grpc.StatusCode of a google.rpc.Status."""
    return next(c for c in grpc.StatusCode if c.value[0] == status.code)
