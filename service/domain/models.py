"""Domain objects: frozen dataclasses; money is an int of minor units with a currency code."""

import enum
from dataclasses import dataclass
from datetime import date, datetime

from service.domain.keys import AccountKey


class AccountType(enum.StrEnum):
    """The kind of account, as in double-entry bookkeeping."""

    ASSET = "asset"
    LIABILITY = "liability"
    INCOME = "income"
    EXPENSE = "expense"
    EQUITY = "equity"


class AccountState(enum.StrEnum):
    """Whether an account takes new transactions."""

    ACTIVE = "active"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Money:
    """An exact amount: an integer of minor units (cents for EUR) of an ISO 4217 currency."""

    amount: int
    currency_code: str


@dataclass(frozen=True)
class User:
    """A person whose money records the service keeps."""

    user_id: str
    display_name: str
    email: str
    revision: int
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class NewUser:
    """What it takes to create a user; `user_id` None means one is assigned."""

    display_name: str
    email: str
    user_id: str | None = None


@dataclass(frozen=True)
class UserChanges:
    """New values for the fields of a user that an update may change; None leaves one as is."""

    display_name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Account:
    """A place money is held, owed, earned or spent. Amounts are minor units of `currency_code`."""

    user_id: str
    account_id: str
    display_name: str
    type: AccountType
    currency_code: str
    balance: int
    opening_balance: int
    credit_limit: int | None
    state: AccountState
    revision: int
    create_time: datetime
    update_time: datetime
    pending_balance: int = 0
    system_managed: bool = False
    opening_date: date | None = None

    @property
    def available_balance(self) -> int:
        """The posted balance plus pending amounts."""
        return self.balance + self.pending_balance

    @property
    def key(self) -> AccountKey:
        """The key that identifies this account."""
        return AccountKey(self.user_id, self.account_id)


@dataclass(frozen=True)
class NewAccount:
    """What it takes to create an account."""

    display_name: str
    type: AccountType
    currency_code: str
    opening_balance: int = 0
    credit_limit: int | None = None
    # None: the day the account is created.
    opening_date: date | None = None


@dataclass(frozen=True)
class AccountChanges:
    """New values for the fields of an account an update may change; None leaves one as is."""

    display_name: str | None = None
    # A credit limit may be removed (set to None), so whether it changes needs its own flag.
    change_credit_limit: bool = False
    credit_limit: Money | None = None
