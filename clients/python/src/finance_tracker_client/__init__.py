"""finance-tracker's Python client: typed async and sync clients over the generated finance.v1
gRPC code, with default deadlines, `request_id`s on writes, safe retries, rich errors, and
credentials (TLS, client certificates, bearer tokens)."""

from finance_tracker_client.aio import AsyncCall, AsyncFinanceClient
from finance_tracker_client.aio import paginate as apaginate
from finance_tracker_client.credentials import AsyncTokenProvider, Tls, TokenProvider
from finance_tracker_client.errors import (
    AbortedError,
    AlreadyExistsError,
    DeadlineExceededError,
    EtagMismatchError,
    FailedPreconditionError,
    FinanceError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionViolation,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    from_rpc_error,
)
from finance_tracker_client.policy import (
    DEFAULT_CHANNEL_OPTIONS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    NO_RETRIES,
    RetryPolicy,
)
from finance_tracker_client.sync import Call, FinanceClient, paginate

__all__ = [
    "DEFAULT_CHANNEL_OPTIONS",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "NO_RETRIES",
    "AbortedError",
    "AlreadyExistsError",
    "AsyncCall",
    "AsyncFinanceClient",
    "AsyncTokenProvider",
    "Call",
    "DeadlineExceededError",
    "EtagMismatchError",
    "FailedPreconditionError",
    "FinanceClient",
    "FinanceError",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionViolation",
    "ResourceExhaustedError",
    "RetryPolicy",
    "Tls",
    "TokenProvider",
    "UnauthenticatedError",
    "UnavailableError",
    "apaginate",
    "from_rpc_error",
    "paginate",
]
