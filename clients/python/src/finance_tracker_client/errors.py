"""Exceptions for failed calls, carrying the `google.rpc` details the server sends (AIP-193)."""

from dataclasses import dataclass
from typing import TypeVar, cast

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "finance-tracker"
ETAG_MISMATCH = "ETAG_MISMATCH"

_DETAIL_TYPES: dict[str, type[Message]] = {
    kind.DESCRIPTOR.full_name: kind
    for kind in (
        error_details_pb2.ErrorInfo,
        error_details_pb2.BadRequest,
        error_details_pb2.ResourceInfo,
        error_details_pb2.PreconditionFailure,
        error_details_pb2.RetryInfo,
        error_details_pb2.QuotaFailure,
        error_details_pb2.RequestInfo,
        error_details_pb2.Help,
        error_details_pb2.LocalizedMessage,
        error_details_pb2.DebugInfo,
    )
}

DetailT = TypeVar("DetailT", bound=Message)


@dataclass(frozen=True)
class PreconditionViolation:
    """Why the system is not in the state a call needs (`google.rpc.PreconditionFailure`)."""

    type: str
    subject: str
    description: str


class FinanceError(Exception):
    """A call that failed: its status code, message and `google.rpc` details.

    `details` holds the known `google.rpc` detail messages unpacked (`BadRequest`,
    `ResourceInfo`, `ErrorInfo`...) and any other detail as the `google.protobuf.Any` it came in.
    """

    def __init__(
        self, code: grpc.StatusCode, message: str, details: tuple[Message, ...] = ()
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.details = details

    def detail(self, kind: type[DetailT]) -> DetailT | None:
        """The first detail of type `kind`, or None."""
        return next((d for d in self.details if isinstance(d, kind)), None)

    @property
    def reason(self) -> str:
        """`ErrorInfo.reason` (`RESOURCE_NOT_FOUND`, `ETAG_MISMATCH`...), or "" without one."""
        info = self.detail(error_details_pb2.ErrorInfo)
        return info.reason if info else ""

    @property
    def error_metadata(self) -> dict[str, str]:
        """`ErrorInfo.metadata`: more about the error, keyed by name."""
        info = self.detail(error_details_pb2.ErrorInfo)
        return dict(info.metadata) if info else {}

    @property
    def retry_delay(self) -> float | None:
        """Seconds the server asks the caller to wait before retrying (`RetryInfo`), or None."""
        retry = self.detail(error_details_pb2.RetryInfo)
        if retry is None or not retry.HasField("retry_delay"):
            return None
        return retry.retry_delay.ToTimedelta().total_seconds()


class InvalidArgumentError(FinanceError):
    """INVALID_ARGUMENT: fields of the request are wrong (`google.rpc.BadRequest`)."""

    @property
    def field_violations(self) -> dict[str, str]:
        """What is wrong with each field, keyed by its path (`account.currency_code`)."""
        found: dict[str, str] = {}
        bad_request = self.detail(error_details_pb2.BadRequest)
        for violation in bad_request.field_violations if bad_request else ():
            previous = found.get(violation.field)
            found[violation.field] = (
                f"{previous}; {violation.description}" if previous else violation.description
            )
        return found


class _ResourceError(FinanceError):
    """An error about one resource, named in `google.rpc.ResourceInfo`."""

    @property
    def resource_name(self) -> str:
        """The resource's name (`users/ada/accounts/checking`), or "" if not sent."""
        info = self.detail(error_details_pb2.ResourceInfo)
        return info.resource_name if info else ""

    @property
    def resource_type(self) -> str:
        """The resource's type (`finance-tracker/Account`), or "" if not sent."""
        info = self.detail(error_details_pb2.ResourceInfo)
        return info.resource_type if info else ""


class NotFoundError(_ResourceError):
    """NOT_FOUND: a resource named in the request does not exist."""


class AlreadyExistsError(_ResourceError):
    """ALREADY_EXISTS: a resource with the requested name exists already."""


class FailedPreconditionError(FinanceError):
    """FAILED_PRECONDITION: the system is not in a state that allows the call."""

    @property
    def violations(self) -> list[PreconditionViolation]:
        """Each unmet precondition (`google.rpc.PreconditionFailure`)."""
        failure = self.detail(error_details_pb2.PreconditionFailure)
        return [
            PreconditionViolation(v.type, v.subject, v.description)
            for v in (failure.violations if failure else ())
        ]


class AbortedError(FinanceError):
    """ABORTED: the call conflicted with another one."""


class EtagMismatchError(AbortedError):
    """ABORTED because the etag sent is stale: read the resource again, then retry."""

    @property
    def resource_name(self) -> str:
        """The resource that changed since it was read."""
        return self.error_metadata.get("resource_name", "")


class UnavailableError(FinanceError):
    """UNAVAILABLE: the server or its database cannot be reached for now."""


class DeadlineExceededError(FinanceError):
    """DEADLINE_EXCEEDED: the call did not finish within its deadline."""


class PermissionDeniedError(FinanceError):
    """PERMISSION_DENIED: the caller may not do this."""


class UnauthenticatedError(FinanceError):
    """UNAUTHENTICATED: the call carries no valid credentials."""


class ResourceExhaustedError(FinanceError):
    """RESOURCE_EXHAUSTED: a limit or quota is used up."""


class InternalError(FinanceError):
    """INTERNAL: the server failed unexpectedly."""


_BY_CODE: dict[grpc.StatusCode, type[FinanceError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.ABORTED: AbortedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def _unpack(detail: any_pb2.Any) -> Message:
    """`detail` as its own message type when it is a known `google.rpc` detail."""
    kind = _DETAIL_TYPES.get(detail.TypeName())
    if kind is None:
        return detail
    message = kind()
    return message if detail.Unpack(message) else detail


def _status(call: grpc.Call) -> status_pb2.Status | None:
    """The `google.rpc.Status` in the trailers of a failed call, if it sent a valid one."""
    try:
        status: status_pb2.Status | None = rpc_status.from_call(call)
    except (ValueError, DecodeError):  # a status that contradicts the call's own code
        return None
    return status


def from_rpc_error(error: grpc.RpcError) -> FinanceError:
    """The FinanceError subclass for a failed call (a `grpc.aio.AioRpcError` or the
    `grpc.RpcError` of a synchronous call), with its `google.rpc` details decoded."""
    call = cast(grpc.Call, error)  # what a failed call raises is a grpc.Call too
    code, message = call.code(), call.details() or ""
    status = _status(call)
    details = tuple(_unpack(d) for d in status.details) if status else ()
    kind = _BY_CODE.get(code, FinanceError)
    if kind is AbortedError:
        info = next((d for d in details if isinstance(d, error_details_pb2.ErrorInfo)), None)
        if info is not None and (info.domain, info.reason) == (ERROR_DOMAIN, ETAG_MISMATCH):
            kind = EtagMismatchError
    return kind(code, message, details)
