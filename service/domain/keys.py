"""Typed keys of every resource: the owner (the tenant key) and the resource's own id.

Domain code and repositories name resources by these keys only; `service.api.names` renders
them as resource names.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class UserKey:
    """Identifies a user."""

    user_id: str


@dataclass(frozen=True)
class AccountKey:
    """Identifies an account: its owner and its own id."""

    user_id: str
    account_id: str


@dataclass(frozen=True)
class CategoryKey:
    """Identifies a category: its owner and its own id."""

    user_id: str
    category_id: str


@dataclass(frozen=True)
class PayeeKey:
    """Identifies a payee: its owner and its own id."""

    user_id: str
    payee_id: str


@dataclass(frozen=True)
class TransactionKey:
    """Identifies a transaction: its owner and its own id."""

    user_id: str
    transaction_id: str


@dataclass(frozen=True)
class MemberKey:
    """Identifies a member of a user's books: the user and the member's own id."""

    user_id: str
    member_id: str


@dataclass(frozen=True)
class RecurringTransactionKey:
    """Identifies a recurring transaction: its owner and its own id."""

    user_id: str
    recurring_id: str


@dataclass(frozen=True)
class ExchangeRateKey:
    """Identifies an exchange rate: its user, and the pair and day it is for."""

    user_id: str
    exchange_rate_id: str


@dataclass(frozen=True)
class RuleKey:
    """Identifies a rule: its owner and its own id."""

    user_id: str
    rule_id: str


@dataclass(frozen=True)
class StatementKey:
    """Identifies a statement: its owner, its account and its own id."""

    user_id: str
    account_id: str
    statement_id: str

    @property
    def account(self) -> AccountKey:
        """The key of the statement's account."""
        return AccountKey(self.user_id, self.account_id)


@dataclass(frozen=True)
class BudgetKey:
    """Identifies a budget: its owner and its own id."""

    user_id: str
    budget_id: str


ResourceKey = (
    UserKey
    | AccountKey
    | CategoryKey
    | PayeeKey
    | TransactionKey
    | MemberKey
    | RecurringTransactionKey
    | ExchangeRateKey
    | RuleKey
    | StatementKey
    | BudgetKey
)


def owner_of(key: ResourceKey) -> UserKey:
    """The user whose books hold the resource of `key` (the user itself for a UserKey)."""
    return key if isinstance(key, UserKey) else UserKey(key.user_id)
