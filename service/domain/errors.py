"""Typed domain errors; the API layer maps each to one gRPC status.

Errors name resources by their typed keys and invalid input by a field of the domain command
(`postings[1].amount`, `parent`); the API layer renders resource names and request field paths
from them.
"""

from dataclasses import dataclass
from typing import Self

from service.domain.keys import ResourceKey

# How much of a value sent by a caller an error message quotes: errors travel in gRPC trailers,
# which clients cap at a few kilobytes.
EXCERPT_LENGTH = 64


def excerpt(value: str) -> str:
    """`value` quoted for an error message, cut to EXCERPT_LENGTH characters with an ellipsis."""
    if len(value) > EXCERPT_LENGTH:
        value = value[: EXCERPT_LENGTH - 1] + "…"
    return repr(value)


class DomainError(Exception):
    """Base of every error that is the caller's to fix, not the service's."""


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field, named by its path in the command (`postings[0].amount`); the
    description is about `subject`, when given (the resource the field names)."""

    field: str
    description: str
    subject: ResourceKey | None = None


class InvalidArgument(DomainError):
    """The command has invalid fields; every violation found is listed.

    Field paths are those of the domain command; the API layer places them in the request.
    """

    def __init__(self, violations: list[FieldViolation]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))
        self.violations = violations

    @classmethod
    def single(cls, field: str, description: str) -> Self:
        """An error with one violation."""
        return cls([FieldViolation(field, description)])


class NotFound(DomainError):
    """A resource the command names does not exist (or is not the caller's)."""

    def __init__(self, key: ResourceKey) -> None:
        super().__init__(f"{type(key).__name__.removesuffix('Key')} {key} not found")
        self.key = key


class AlreadyExists(DomainError):
    """A resource with the requested id exists already."""

    def __init__(self, key: ResourceKey) -> None:
        super().__init__(f"{type(key).__name__.removesuffix('Key')} {key} already exists")
        self.key = key


@dataclass(frozen=True)
class PreconditionViolation:
    """Why the system is not in a state the command needs: a type such as
    CREDIT_LIMIT_EXCEEDED, the resource it is about, and a description."""

    type: str
    subject: ResourceKey
    description: str


class FailedPrecondition(DomainError):
    """The command is valid, but the state of the system does not allow it."""

    def __init__(self, violation: PreconditionViolation) -> None:
        super().__init__(violation.description)
        self.violation = violation


class EtagMismatch(DomainError):
    """The resource changed since the caller read it (a stale etag)."""

    def __init__(self, key: ResourceKey) -> None:
        super().__init__("the resource has changed since it was read; read it again")
        self.key = key


class PermissionDenied(DomainError):
    """The caller may see the resource but not do this to it (a viewer's write, an editor
    managing members)."""


class Unauthenticated(DomainError):
    """The call carries no valid credentials; the reason says what is wrong with them."""


class Unavailable(DomainError):
    """The database cannot be reached, or the outcome of a commit is unknown; the caller may
    retry (with the same request_id, for a write)."""


class Aborted(DomainError):
    """The command kept conflicting with concurrent ones; the caller may retry."""


class OutOfRange(DomainError):
    """An answer would hold a figure past what the API can carry (an amount of more than
    2^63 - 1 whole units, summed over many accounts); narrow the request."""


class DeadlineExceeded(DomainError):
    """A statement ran past the time the database allows one."""


class ResourceExhausted(DomainError):
    """The server, or the caller's share of it, is used up for now: the caller may retry after
    `retry_after` seconds. `reason` names the limit (RATE_LIMIT_EXCEEDED, ...)."""

    def __init__(self, message: str, *, reason: str, retry_after: float) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after
