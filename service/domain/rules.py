"""How an ordered set of rules changes a transaction: pure, the same for new transactions
and recorded ones (service/domain/rule_models.py holds what a rule is)."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import regex

from service.domain.categories import CategoryKind
from service.domain.errors import FailedPrecondition, PreconditionViolation
from service.domain.ledger import Transaction, TransactionChanges, TransactionDraft
from service.domain.rule_models import Actions, Rule

# How long one search of a description_regex may take. The `regex` module stops a search at
# this limit (the standard `re` cannot), so a catastrophic pattern costs one call 50 ms, not
# the server its event loop.
MATCH_TIMEOUT_SECONDS = 0.05
MAX_PATTERN_LENGTH = 200
MAX_TAGS = 20
# How many changed transactions ApplyRules names.
MAX_REPORTED = 1000


@dataclass(frozen=True)
class Facts:
    """What rules look at in a transaction, new or recorded, and may change."""

    description: str
    payee_id: str | None
    tags: tuple[str, ...]
    external_id: str | None
    account_ids: frozenset[str]
    # The sum of the positive postings in each currency: how much the transaction moves.
    amounts: dict[str, int]
    categories: tuple[str | None, ...]


def facts_of(transaction: Transaction | TransactionDraft) -> Facts:
    """The facts of a transaction, recorded or new (where the accounts the service keeps are
    not yet resolved, and so match no account condition)."""
    legs = transaction.postings
    amounts: dict[str, int] = defaultdict(int)
    for posting in legs:
        if posting.amount > 0:
            amounts[posting.currency_code] += posting.amount
    return Facts(
        description=transaction.description,
        payee_id=transaction.payee_id,
        tags=transaction.tags,
        external_id=transaction.external_id,
        account_ids=frozenset(p.account_id for p in legs if p.account_id),
        amounts=dict(amounts),
        categories=tuple(p.category_id for p in legs),
    )


def pattern_error(pattern: str) -> str | None:
    """Why `pattern` is not a description_regex a rule may hold; None if it is one."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"must be at most {MAX_PATTERN_LENGTH} characters"
    try:
        regex.compile(pattern)
    except regex.error as error:
        return f"is not a regular expression: {error}"
    return None


def _contains(text: str | None, part: str) -> bool:
    return text is not None and part.casefold() in text.casefold()


def _searches(rule: Rule, pattern: str, text: str) -> bool:
    try:
        return regex.search(pattern, text, timeout=MATCH_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        raise FailedPrecondition(
            PreconditionViolation(
                "RULE_PATTERN_TOO_SLOW",
                rule.key,
                f"the rule's description_regex took longer than"
                f" {MATCH_TIMEOUT_SECONDS * 1000:.0f} ms on one description; simplify it",
            )
        ) from None


def matches(rule: Rule, facts: Facts) -> bool:
    """Whether the transaction of `facts` meets every condition of `rule`. Raises
    FailedPrecondition if its pattern takes longer than MATCH_TIMEOUT_SECONDS."""
    c = rule.conditions
    if c.description_contains is not None and not _contains(
        facts.description, c.description_contains
    ):
        return False
    if c.payee_id is not None and facts.payee_id != c.payee_id:
        return False
    if c.account_id is not None and c.account_id not in facts.account_ids:
        return False
    if c.external_id_contains is not None and not _contains(
        facts.external_id, c.external_id_contains
    ):
        return False
    if c.amount is not None:
        moved = facts.amounts.get(c.amount.currency_code)
        if moved is None or not c.amount.holds(moved):
            return False
    # Last: the only condition that may be slow.
    return c.description_regex is None or _searches(rule, c.description_regex, facts.description)


def act(actions: Actions, facts: Facts) -> Facts:
    """`facts` with the actions applied."""
    tags = facts.tags
    for tag in actions.add_tags:
        if tag not in tags and len(tags) < MAX_TAGS:
            tags = (*tags, tag)
    return replace(
        facts,
        description=facts.description if actions.description is None else actions.description,
        payee_id=facts.payee_id if actions.payee_id is None else actions.payee_id,
        tags=tags,
        categories=(
            facts.categories
            if actions.category_id is None
            else tuple(actions.category_id for _ in facts.categories)
        ),
    )


def in_order(rules: Iterable[Rule]) -> list[Rule]:
    """Rules in the order they apply: lowest priority first, then oldest first."""
    return sorted(rules, key=lambda r: (r.priority, r.create_time, r.rule_id))


def evaluate(rules: Iterable[Rule], facts: Facts) -> Facts:
    """`facts` after every matching rule, in order, each seeing what the ones before left,
    up to and including the first matching rule that says `stop`."""
    for rule in in_order(rules):
        if matches(rule, facts):
            facts = act(rule.actions, facts)
            if rule.stop:
                break
    return facts


def changes_between(before: Facts, after: Facts) -> TransactionChanges | None:
    """The update that takes a transaction from `before` to `after`; None when nothing
    differs."""
    if before == after:
        return None
    changed_categories = after.categories != before.categories
    return TransactionChanges(
        description=after.description if after.description != before.description else None,
        change_payee=after.payee_id != before.payee_id,
        payee_id=after.payee_id,
        tags=after.tags if after.tags != before.tags else None,
        categories=after.categories if changed_categories else None,
    )


def changed_fields(changes: TransactionChanges) -> list[str]:
    """The fields of the transaction an update changes, as the API names them."""
    fields = [
        ("description", changes.description is not None),
        ("payee", changes.change_payee),
        ("tags", changes.tags is not None),
        ("postings.category", changes.categories is not None),
    ]
    return [name for name, changed in fields if changed]


def apply_to_draft(
    rules: Iterable[Rule], draft: TransactionDraft, kinds: Mapping[str, CategoryKind]
) -> TransactionDraft:
    """A new transaction as the rules file it. Where the draft needs categories of one kind
    (an expense, an income), a rule's category of the other kind (`kinds` has each rule
    category's) is not set: a rule for spending at a shop does not file the shop's refund."""
    wanted = draft.category_kind
    fitting = [
        replace(rule, actions=replace(rule.actions, category_id=None))
        if wanted is not None
        and rule.actions.category_id is not None
        and kinds.get(rule.actions.category_id) is not wanted
        else rule
        for rule in rules
    ]
    after = evaluate(fitting, facts_of(draft))
    postings = tuple(
        replace(p, category_id=category)
        for p, category in zip(draft.postings, after.categories, strict=True)
    )
    return replace(
        draft,
        description=after.description,
        payee_id=after.payee_id,
        tags=after.tags,
        postings=postings,
    )


def changes_for(rules: Iterable[Rule], transaction: Transaction) -> TransactionChanges | None:
    """The update the rules make to a recorded transaction; None when they change nothing."""
    before = facts_of(transaction)
    return changes_between(before, evaluate(rules, before))


def changed(transaction: Transaction, changes: TransactionChanges) -> Transaction:
    """The transaction as `changes` would leave it (revision and times as they are)."""
    categories = changes.categories
    return replace(
        transaction,
        description=transaction.description if changes.description is None else changes.description,
        payee_id=changes.payee_id if changes.change_payee else transaction.payee_id,
        tags=transaction.tags if changes.tags is None else changes.tags,
        postings=(
            transaction.postings
            if categories is None
            else tuple(
                replace(p, category_id=c)
                for p, c in zip(transaction.postings, categories, strict=True)
            )
        ),
    )
