"""Rules that file transactions: their conditions and actions, and what applying them did."""

from dataclasses import dataclass
from datetime import datetime

from service.domain.keys import RuleKey, TransactionKey
from service.domain.ledger import Transaction


@dataclass(frozen=True)
class AmountRange:
    """Minor units of one currency: at least `at_least` (inclusive), below `below`
    (exclusive); None leaves that side open."""

    currency_code: str
    at_least: int | None = None
    below: int | None = None

    def holds(self, amount: int) -> bool:
        """Whether `amount` lies in the range."""
        if self.at_least is not None and amount < self.at_least:
            return False
        return self.below is None or amount < self.below


@dataclass(frozen=True)
class Conditions:
    """What a transaction must meet, every condition set; None leaves one out."""

    description_contains: str | None = None
    description_regex: str | None = None
    payee_id: str | None = None
    amount: AmountRange | None = None
    account_id: str | None = None
    external_id_contains: str | None = None


@dataclass(frozen=True)
class Actions:
    """What a rule sets on a matching transaction; None (or no tags) leaves a field as is."""

    category_id: str | None = None
    payee_id: str | None = None
    add_tags: tuple[str, ...] = ()
    description: str | None = None


@dataclass(frozen=True)
class NewRule:
    """What it takes to create a rule."""

    display_name: str
    priority: int
    stop: bool
    conditions: Conditions
    actions: Actions


@dataclass(frozen=True)
class Rule(NewRule):
    """A stored rule."""

    user_id: str
    rule_id: str
    revision: int
    create_time: datetime
    update_time: datetime

    @property
    def key(self) -> RuleKey:
        """The key that identifies this rule."""
        return RuleKey(self.user_id, self.rule_id)


@dataclass(frozen=True)
class RuleChanges:
    """New values for the fields of a rule an update may change; None leaves one as is."""

    display_name: str | None = None
    priority: int | None = None
    stop: bool | None = None
    conditions: Conditions | None = None
    actions: Actions | None = None


@dataclass(frozen=True)
class Proposal:
    """What a rule would do to one transaction: the fields it changes and the result."""

    proposed: Transaction
    changed_fields: tuple[str, ...]


@dataclass(frozen=True)
class Applied:
    """What applying the rules to a set of transactions did."""

    examined: int
    changed: int
    # The first MAX_REPORTED transactions changed.
    changed_keys: tuple[TransactionKey, ...]
