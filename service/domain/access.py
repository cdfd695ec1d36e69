"""Who calls, and what a caller may do with a user's books.

A principal is who a call acts for: the subject of its bearer token, or the calling service
when a client certificate is all it presents. A user's books are reachable only by principals
with a grant (a member of the user, with a role), and by administrators.
"""

from dataclasses import dataclass
from enum import IntEnum

from service.domain.errors import NotFound, PermissionDenied
from service.domain.keys import UserKey


class Role(IntEnum):
    """What a member of a user's books may do; each role includes the ones below it."""

    VIEWER = 1  # read everything
    EDITOR = 2  # also record and change accounts, transactions, categories, payees
    OWNER = 3  # also change or delete the user, and manage its members


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    `subject` is who the call acts for (a person, or the calling service itself);
    `service` is the calling service's identity from its client certificate, when it
    presented one; `admin` marks a trusted back-office caller that may act on any user.
    `authenticated` is false only when the server runs without authentication, for local
    development, where every caller is an anonymous administrator.
    """

    subject: str
    service: str | None = None
    admin: bool = False
    authenticated: bool = True


# Every caller of a server that authenticates nobody (local development only).
ANONYMOUS = Principal(subject="anonymous", admin=True, authenticated=False)

# The service itself, for work no caller asked for (verification, maintenance).
SYSTEM = Principal(subject="finance-tracker", admin=True)


@dataclass(frozen=True)
class Grant:
    """A principal's role on one user's books."""

    principal: str
    role: Role


def check_access(principal: Principal, user: UserKey, granted: Role | None, need: Role) -> None:
    """Let `principal`, whose role on `user` is `granted` (None without a grant), do what
    takes `need`. Raises NotFound without a grant, so that nobody learns which users exist,
    and PermissionDenied when the role is too low. Administrators may do anything."""
    if principal.admin:
        return
    if granted is None:
        raise NotFound(user)
    if granted < need:
        raise PermissionDenied(
            f"the caller is a {granted.name.lower()} of this user; this takes"
            f" a{'n' if need is Role.OWNER or need is Role.EDITOR else ''} {need.name.lower()}"
        )
