"""Validating RuleService requests into domain commands."""

import uuid
from dataclasses import dataclass
from typing import Literal

from finance.v1 import rule_service_pb2 as pb
from google.type import money_pb2

from service.api import names
from service.api.ledger_request_parts import child_id
from service.api.masks import update_paths
from service.api.money import parse_amount
from service.api.text import optional_text, require_text
from service.api.transaction_requests import parse_tags
from service.api.validation import Violations, parse_etag, parse_request_id
from service.domain.keys import RuleKey, UserKey
from service.domain.rule_models import Actions, AmountRange, Conditions, NewRule, RuleChanges
from service.domain.rules import pattern_error

UPDATABLE = ("display_name", "priority", "stop", "conditions", "actions")


@dataclass(frozen=True)
class CreateRule:
    """A validated CreateRule request."""

    owner: UserKey
    new: NewRule
    request_id: uuid.UUID | None


@dataclass(frozen=True)
class UpdateRule:
    """A validated UpdateRule request."""

    key: RuleKey
    changes: RuleChanges
    expected_revision: int | None


def _text(value: str, field: str, max_length: int = 200) -> str | None:
    return optional_text(value, field, max_length) or None


def _bound(
    c: pb.RuleConditions,
    side: Literal["amount_at_least", "amount_below"],
    field: str,
    violations: Violations,
) -> tuple[int, str] | None:
    """The (minor units, currency) of one side of the amount range; None when unset."""
    if not c.HasField(side):
        return None
    money: money_pb2.Money = getattr(c, side)
    return violations.check(lambda: parse_amount(money, f"{field}.{side}"))


def _amount_range(c: pb.RuleConditions, field: str, violations: Violations) -> AmountRange | None:
    low = _bound(c, "amount_at_least", field, violations)
    high = _bound(c, "amount_below", field, violations)
    if low is not None and high is not None:
        if low[1] != high[1]:
            violations.add(f"{field}.amount_below.currency_code", "must be amount_at_least's")
        elif high[0] <= low[0]:
            violations.add(f"{field}.amount_below", "must be more than amount_at_least")
    currency = next((b[1] for b in (low, high) if b is not None), None)
    if currency is None:
        return None
    return AmountRange(currency, None if low is None else low[0], None if high is None else high[0])


def _pattern(value: str, field: str, violations: Violations) -> str | None:
    pattern = violations.check(lambda: _text(value, field))
    error = None if pattern is None else pattern_error(pattern)
    if error is not None:
        violations.add(field, error)
    return pattern


def parse_conditions(
    c: pb.RuleConditions, owner: UserKey | None, violations: Violations
) -> Conditions:
    """The conditions of `rule.conditions`, at least one."""
    field = "rule.conditions"
    conditions = Conditions(
        description_contains=violations.check(
            lambda: _text(c.description_contains, f"{field}.description_contains")
        ),
        description_regex=_pattern(c.description_regex, f"{field}.description_regex", violations),
        payee_id=violations.check(
            lambda: child_id(c.payee, names.parse_payee_name, owner, f"{field}.payee")
        ),
        amount=_amount_range(c, field, violations),
        account_id=violations.check(
            lambda: child_id(c.account, names.parse_account_name, owner, f"{field}.account")
        ),
        external_id_contains=violations.check(
            lambda: _text(c.external_id_contains, f"{field}.external_id_contains")
        ),
    )
    if c.ByteSize() == 0:
        violations.add(field, "needs at least one condition")
    return conditions


def parse_actions(a: pb.RuleActions, owner: UserKey | None, violations: Violations) -> Actions:
    """The actions of `rule.actions`, at least one."""
    field = "rule.actions"
    actions = Actions(
        category_id=violations.check(
            lambda: child_id(
                a.set_category, names.parse_category_name, owner, f"{field}.set_category"
            )
        ),
        payee_id=violations.check(
            lambda: child_id(a.set_payee, names.parse_payee_name, owner, f"{field}.set_payee")
        ),
        add_tags=violations.check(lambda: parse_tags(a.add_tags, f"{field}.add_tags")) or (),
        description=violations.check(
            lambda: _text(a.set_description, f"{field}.set_description", 500)
        ),
    )
    if a.ByteSize() == 0:
        violations.add(field, "needs at least one action")
    return actions


def parse_create(request: pb.CreateRuleRequest) -> CreateRule:
    """The owner, new rule and request id of a CreateRule request."""
    violations = Violations()
    owner = violations.check(lambda: names.parse_user_name(request.parent, "parent"))
    rule = request.rule
    if not request.HasField("rule"):
        violations.add("rule", "is required")
    display_name = violations.check(lambda: require_text(rule.display_name, "rule.display_name"))
    conditions = parse_conditions(rule.conditions, owner, violations)
    actions = parse_actions(rule.actions, owner, violations)
    request_id = violations.check(lambda: parse_request_id(request.request_id))
    violations.raise_if_any()
    assert owner is not None
    assert display_name is not None
    new = NewRule(display_name, rule.priority, rule.stop, conditions, actions)
    return CreateRule(owner, new, request_id)


def parse_update(request: pb.UpdateRuleRequest) -> UpdateRule:
    """The key, changes and expected revision of an UpdateRule request."""
    violations = Violations()
    rule = request.rule
    key = violations.check(lambda: names.parse_rule_name(rule.name, "rule.name"))
    owner = None if key is None else UserKey(key.user_id)
    paths = update_paths(request, violations, UPDATABLE)
    changes = RuleChanges(
        display_name=(
            violations.check(lambda: require_text(rule.display_name, "rule.display_name"))
            if "display_name" in paths
            else None
        ),
        priority=rule.priority if "priority" in paths else None,
        stop=rule.stop if "stop" in paths else None,
        conditions=(
            parse_conditions(rule.conditions, owner, violations) if "conditions" in paths else None
        ),
        actions=parse_actions(rule.actions, owner, violations) if "actions" in paths else None,
    )
    revision = violations.check(lambda: parse_etag(rule.etag, "rule.etag"))
    violations.raise_if_any()
    assert key is not None
    return UpdateRule(key, changes, revision)
