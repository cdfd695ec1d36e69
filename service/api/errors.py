"""The one map from domain errors to gRPC status codes with google.rpc details (AIP-193)."""

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


def _status(code: int, message: str, *details: Message) -> status_pb2.Status:
    packed = []
    for detail in details:
        any_detail = any_pb2.Any()
        any_detail.Pack(detail)
        packed.append(any_detail)
    return status_pb2.Status(code=code, message=message, details=packed)


def _resource_type(name: str) -> str:
    return f"{ERROR_DOMAIN}/{name}"


def to_status(error: DomainError) -> status_pb2.Status:
    """The google.rpc.Status, details included, that tells a caller about `error`."""
    match error:
        case InvalidArgument(violations=violations):
            bad_request = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in violations
                ]
            )
            return _status(code_pb2.INVALID_ARGUMENT, str(error), bad_request)
        case NotFound() | AlreadyExists():
            resource = error_details_pb2.ResourceInfo(
                resource_type=_resource_type(error.resource_type),
                resource_name=error.resource_name,
            )
            code = code_pb2.NOT_FOUND if isinstance(error, NotFound) else code_pb2.ALREADY_EXISTS
            return _status(code, str(error), resource)
        case FailedPrecondition(violation=v):
            failure = error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type=v.type, subject=v.subject, description=v.description
                    )
                ]
            )
            return _status(code_pb2.FAILED_PRECONDITION, str(error), failure)
        case EtagMismatch():
            info = error_details_pb2.ErrorInfo(
                reason="ETAG_MISMATCH",
                domain=ERROR_DOMAIN,
                metadata={"resource_name": error.resource_name},
            )
            return _status(code_pb2.ABORTED, str(error), info)
        case Unavailable():
            retry = error_details_pb2.RetryInfo()
            retry.retry_delay.FromMilliseconds(1000)
            return _status(code_pb2.UNAVAILABLE, str(error), retry)
    return _status(code_pb2.INTERNAL, "internal error")


def grpc_code(status: status_pb2.Status) -> grpc.StatusCode:
    """The grpc.StatusCode of a google.rpc.Status."""
    return next(c for c in grpc.StatusCode if c.value[0] == status.code)
