"""Typed domain errors; the API layer maps each to one gRPC status."""

from dataclasses import dataclass

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
    """One invalid field of a request, named by its path (`account.display_name`)."""

    field: str
    description: str


class InvalidArgument(DomainError):
    """The request has invalid fields; every violation found is listed."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))
        self.violations = violations

    @classmethod
    def single(cls, field: str, description: str) -> "InvalidArgument":
        """An InvalidArgument with one violation."""
        return cls([FieldViolation(field, description)])


class NotFound(DomainError):
    """A resource named in the request does not exist (or is not the caller's)."""

    def __init__(self, resource_type: str, resource_name: str) -> None:
        super().__init__(f"{resource_type} {resource_name!r} not found")
        self.resource_type = resource_type
        self.resource_name = resource_name


class AlreadyExists(DomainError):
    """A resource with the requested name exists already."""

    def __init__(self, resource_type: str, resource_name: str) -> None:
        super().__init__(f"{resource_type} {resource_name!r} already exists")
        self.resource_type = resource_type
        self.resource_name = resource_name


@dataclass(frozen=True)
class PreconditionViolation:
    """Why the system is not in a state the request needs (type, subject, description)."""

    type: str
    subject: str
    description: str


class FailedPrecondition(DomainError):
    """The request is valid, but the state of the system does not allow it."""

    def __init__(self, violation: PreconditionViolation) -> None:
        super().__init__(violation.description)
        self.violation = violation


class EtagMismatch(DomainError):
    """The resource changed since the caller read it (a stale etag)."""

    def __init__(self, resource_name: str) -> None:
        super().__init__(f"{resource_name!r} has changed since it was read; read it again")
        self.resource_name = resource_name


class Unavailable(DomainError):
    """The database cannot be reached; the caller may retry."""
