"""Payees: the people and businesses money is paid to or received from."""

from dataclasses import dataclass
from datetime import datetime

from service.domain.keys import PayeeKey


@dataclass(frozen=True)
class Payee:
    """A person or business money is paid to or received from."""

    user_id: str
    payee_id: str
    display_name: str
    revision: int
    create_time: datetime
    update_time: datetime

    @property
    def key(self) -> PayeeKey:
        """The key that identifies this payee."""
        return PayeeKey(self.user_id, self.payee_id)


@dataclass(frozen=True)
class NewPayee:
    """What it takes to create a payee."""

    display_name: str


@dataclass(frozen=True)
class PayeeChanges:
    """New values for the fields of a payee an update may change; None leaves one as is."""

    display_name: str | None = None
