"""Members: the principals a user's books are shared with, each with a role."""

from dataclasses import dataclass
from datetime import datetime

from service.domain.access import Role
from service.domain.errors import FailedPrecondition, PreconditionViolation
from service.domain.keys import MemberKey


@dataclass(frozen=True)
class Member:
    """A principal's grant on one user's books."""

    user_id: str
    member_id: str
    principal: str
    role: Role
    revision: int
    create_time: datetime
    update_time: datetime

    @property
    def key(self) -> MemberKey:
        """The key that identifies this member."""
        return MemberKey(self.user_id, self.member_id)


@dataclass(frozen=True)
class NewMember:
    """What it takes to add a member."""

    principal: str
    role: Role


@dataclass(frozen=True)
class MemberChanges:
    """A new role for a member; None leaves it as is."""

    role: Role | None = None


def check_owner_remains(member: Member, new_role: Role | None, owners: int) -> None:
    """Refuse to remove or demote the last owner of a user (`owners` counts them, this one
    included): nobody could manage the books any more."""
    if member.role is Role.OWNER and new_role is not Role.OWNER and owners <= 1:
        raise FailedPrecondition(
            PreconditionViolation(
                "LAST_OWNER",
                member.key,
                "the last owner of a user cannot be removed or demoted; make another member an"
                " owner first",
            )
        )
