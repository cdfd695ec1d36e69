"""The one map from domain errors to gRPC status codes with google.rpc details (AIP-193)."""

import math
import re

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

from service.api.bad_request import BadRequest
from service.api.names import RESOURCE_TYPES, resource_name
from service.domain.errors import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    DomainError,
    EtagMismatch,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from service.domain.keys import ResourceKey

ERROR_DOMAIN = "finance-tracker"

# A status travels in the response trailers, which clients refuse beyond 8 to 16 KiB, and twice:
# the message percent-encoded, and the whole status base64-encoded. So the message and every
# field and description are cut to these many bytes of UTF-8, and the field violations that do
# not fit in MAX_VIOLATIONS_SIZE bytes are left out: at worst some 8 KiB in all.
MAX_MESSAGE_BYTES = 1000
MAX_DESCRIPTION_BYTES = 300
MAX_VIOLATIONS_SIZE = 2500

# Where gRPC carries a google.rpc.Status with its details, and a server's retry pushback.
_DETAILS_KEY = "grpc-status-details-bin"
_PUSHBACK_KEY = "grpc-retry-pushback-ms"

_REASON = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")

# Where the fields of a service's command sit in a request, for the methods whose request
# nests them in a resource message: method -> (the message's field, the command's fields in it).
# Other commands' fields (`amount`, `to_account`, `request_id`) are named alike in the request.
_BUDGET_FIELDS = ("period", "end_date", "repeating", "rollover", "lines", "assignments")
COMMAND_FIELDS = {
    "CreateAccount": ("account", ("opening_balance", "credit_limit")),
    "UpdateAccount": ("account", ("credit_limit",)),
    "CreateCategory": ("category", ("parent",)),
    "UpdateCategory": ("category", ("parent",)),
    "CreateTransaction": ("transaction", ("postings",)),
    "UpdateTransaction": ("transaction", ("postings",)),
    "CreateBudget": ("budget", _BUDGET_FIELDS),
    "UpdateBudget": ("budget", _BUDGET_FIELDS),
    "CreateRecurringTransaction": ("recurring_transaction", ("template", "schedule")),
    "UpdateRecurringTransaction": ("recurring_transaction", ("template", "schedule")),
}


def _cut(text: str, limit: int) -> str:
    """`text`, or as much of it as fits in `limit` bytes of UTF-8 with an ellipsis."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - len("…".encode())].decode(errors="ignore") + "…"


def _status(
    code: int,
    message: str,
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
    return status_pb2.Status(code=code, message=_cut(message, MAX_MESSAGE_BYTES), details=packed)


def request_field(method: str, field: str) -> str:
    """The path in `method`'s request of a field of the service's command."""
    message, fields = COMMAND_FIELDS.get(method, ("", ()))
    root = re.split(r"[.\[]", field, maxsplit=1)[0]
    return f"{message}.{field}" if root in fields else field


def _violations(error: InvalidArgument, method: str) -> list[FieldViolation]:
    if isinstance(error, BadRequest):
        return error.violations
    return [
        FieldViolation(
            request_field(method, v.field),
            v.description if v.subject is None else f"{resource_name(v.subject)} {v.description}",
        )
        for v in error.violations
    ]


def _bad_request(violations: list[FieldViolation]) -> error_details_pb2.BadRequest:
    bad_request = error_details_pb2.BadRequest()
    for v in violations:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=_cut(v.field, MAX_DESCRIPTION_BYTES),
            description=_cut(v.description, MAX_DESCRIPTION_BYTES),
        )
        if bad_request.ByteSize() + violation.ByteSize() > MAX_VIOLATIONS_SIZE:
            break
        bad_request.field_violations.append(violation)
    return bad_request


def _resource_info(key: ResourceKey) -> error_details_pb2.ResourceInfo:
    return error_details_pb2.ResourceInfo(
        resource_type=f"{ERROR_DOMAIN}/{RESOURCE_TYPES[type(key)]}",
        resource_name=resource_name(key),
    )


def _retry_info(seconds: float) -> error_details_pb2.RetryInfo:
    retry = error_details_pb2.RetryInfo()
    # Rounded up: a caller that waits exactly the delay finds the limit passed.
    retry.retry_delay.FromMilliseconds(math.ceil(seconds * 1000))
    return retry


def to_status(error: DomainError, method: str = "") -> status_pb2.Status:
    """The google.rpc.Status, details included, that tells the caller of `method` (the RPC's
    name, such as CreateAccount) about `error`."""
    match error:
        case InvalidArgument():
            violations = _violations(error, method)
            message = "; ".join(f"{v.field}: {v.description}" for v in violations)
            return _status(
                code_pb2.INVALID_ARGUMENT, message, "INVALID_ARGUMENT", _bad_request(violations)
            )
        case NotFound(key=key):
            message = f"{RESOURCE_TYPES[type(key)]} {resource_name(key)!r} not found"
            return _status(code_pb2.NOT_FOUND, message, "RESOURCE_NOT_FOUND", _resource_info(key))
        case AlreadyExists(key=key):
            message = f"{RESOURCE_TYPES[type(key)]} {resource_name(key)!r} already exists"
            return _status(
                code_pb2.ALREADY_EXISTS, message, "RESOURCE_ALREADY_EXISTS", _resource_info(key)
            )
        case FailedPrecondition(violation=v):
            failure = error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type=v.type, subject=resource_name(v.subject), description=v.description
                    )
                ]
            )
            reason = v.type if _REASON.fullmatch(v.type) else "FAILED_PRECONDITION"
            return _status(code_pb2.FAILED_PRECONDITION, v.description, reason, failure)
        case EtagMismatch(key=key):
            name = resource_name(key)
            message = f"{name!r} has changed since it was read; read it again"
            return _status(
                code_pb2.ABORTED, message, "ETAG_MISMATCH", metadata={"resource_name": name}
            )
        case Aborted():
            return _status(code_pb2.ABORTED, str(error), "CONCURRENT_CONFLICT")
        case PermissionDenied():
            return _status(code_pb2.PERMISSION_DENIED, str(error), "ROLE_TOO_LOW")
        case Unauthenticated():
            return _status(code_pb2.UNAUTHENTICATED, str(error), "INVALID_CREDENTIALS")
        case OutOfRange():
            return _status(code_pb2.OUT_OF_RANGE, str(error), "AMOUNT_OUT_OF_RANGE")
        case DeadlineExceeded():
            return _status(code_pb2.DEADLINE_EXCEEDED, str(error), "STATEMENT_TIMEOUT")
        case Unavailable():
            return _status(
                code_pb2.UNAVAILABLE, str(error), "DATABASE_UNAVAILABLE", _retry_info(1.0)
            )
        case ResourceExhausted(reason=reason, retry_after=retry_after):
            return _status(
                code_pb2.RESOURCE_EXHAUSTED, str(error), reason, _retry_info(retry_after)
            )
    return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error")


def trailers(status: status_pb2.Status) -> tuple[tuple[str, str | bytes], ...]:
    """The trailing metadata that carries `status` to the caller: the status with its details
    and, when it says when to retry (RetryInfo), the same delay as gRPC's own retry pushback,
    which clients with a retry policy for the code wait for (gRFC A6)."""
    metadata: list[tuple[str, str | bytes]] = [(_DETAILS_KEY, status.SerializeToString())]
    retry = error_details_pb2.RetryInfo()
    for detail in status.details:
        if detail.Unpack(retry):
            metadata.append((_PUSHBACK_KEY, str(retry.retry_delay.ToMilliseconds())))
    return tuple(metadata)


def grpc_code(status: status_pb2.Status) -> grpc.StatusCode:
    """The grpc.StatusCode of a google.rpc.Status."""
    return next(c for c in grpc.StatusCode if c.value[0] == status.code)
