"""The rule evaluator, as pure functions: conditions, their edges, order, stop, and the time
limit of patterns."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain import rule_models as m
from service.domain import rules as r
from service.domain.categories import CategoryKind
from service.domain.errors import FailedPrecondition
from service.domain.keys import RuleKey
from service.domain.ledger import PostingDraft, SystemRole, TransactionDraft

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def rule(
    rule_id: str = "r1",
    *,
    priority: int = 0,
    stop: bool = False,
    created: int = 0,
    conditions: m.Conditions | None = None,
    actions: m.Actions | None = None,
) -> m.Rule:
    return m.Rule(
        display_name=rule_id,
        priority=priority,
        stop=stop,
        conditions=conditions or m.Conditions(account_id="checking"),
        actions=actions or m.Actions(description="Bread"),
        user_id="ada",
        rule_id=rule_id,
        revision=1,
        create_time=T0 + timedelta(seconds=created),
        update_time=T0,
    )


def draft(
    description: str = "CORNER BAKERY 42",
    *,
    amount: int = 1250,
    currency: str = "EUR",
    account: str = "checking",
    tags: tuple[str, ...] = (),
    external_id: str | None = None,
) -> TransactionDraft:
    return TransactionDraft(
        booking_date=date(2024, 1, 15),
        postings=(
            PostingDraft(account, -amount, currency),
            PostingDraft("", amount, currency, system_role=SystemRole.EXPENSE),
        ),
        description=description,
        tags=tags,
        external_id=external_id,
    )


def facts(**fields: object) -> r.Facts:
    return r.facts_of(draft(**fields))  # type: ignore[arg-type]


def amount_rule(at_least: int | None, below: int | None, currency: str = "EUR") -> m.Rule:
    return rule(conditions=m.Conditions(amount=m.AmountRange(currency, at_least, below)))


class TestConditions:
    def test_description_contains_ignores_case(self) -> None:
        bakery = rule(conditions=m.Conditions(description_contains="bakery"))
        assert r.matches(bakery, facts(description="Corner BAKERY"))
        assert not r.matches(bakery, facts(description="Butcher"))

    def test_every_condition_must_hold(self) -> None:
        both = rule(conditions=m.Conditions(description_contains="bakery", account_id="savings"))
        assert not r.matches(both, facts(account="checking"))
        assert r.matches(both, facts(account="savings"))

    def test_account_condition_names_a_posting_account(self) -> None:
        on_checking = rule(conditions=m.Conditions(account_id="checking"))
        assert r.matches(on_checking, facts(account="checking"))
        assert not r.matches(on_checking, facts(account="savings"))

    def test_payee_condition(self) -> None:
        paid = rule(conditions=m.Conditions(payee_id="bakery"))
        assert r.matches(paid, replace(facts(), payee_id="bakery"))
        assert not r.matches(paid, replace(facts(), payee_id="butcher"))
        assert not r.matches(paid, facts())

    def test_external_id_contains(self) -> None:
        ref = rule(conditions=m.Conditions(external_id_contains="sepa"))
        assert r.matches(ref, facts(external_id="XX-SEPA-1"))
        assert not r.matches(ref, facts(external_id="XX-CARD-1"))
        assert not r.matches(ref, facts())

    def test_regex_searches_the_description(self) -> None:
        pattern = rule(conditions=m.Conditions(description_regex=r"BAKERY \d+$"))
        assert r.matches(pattern, facts(description="CORNER BAKERY 42"))
        assert not r.matches(pattern, facts(description="CORNER BAKERY"))

    def test_a_catastrophic_pattern_stops_at_the_time_limit(self) -> None:
        slow = rule(conditions=m.Conditions(description_regex="(a|aa)+$"))
        with pytest.raises(FailedPrecondition) as raised:
            r.matches(slow, facts(description="a" * 80 + "!"))
        assert raised.value.violation.type == "RULE_PATTERN_TOO_SLOW"
        assert raised.value.violation.subject == RuleKey("ada", "r1")

    def test_pattern_errors(self) -> None:
        assert r.pattern_error("(unclosed") is not None
        assert r.pattern_error("x" * r.MAX_PATTERN_LENGTH) is None
        assert r.pattern_error("x" * (r.MAX_PATTERN_LENGTH + 1)) is not None


class TestAmountRange:
    def test_lower_edge_is_inclusive(self) -> None:
        assert r.matches(amount_rule(1250, None), facts(amount=1250))
        assert not r.matches(amount_rule(1251, None), facts(amount=1250))

    def test_upper_edge_is_exclusive(self) -> None:
        assert not r.matches(amount_rule(None, 1250), facts(amount=1250))
        assert r.matches(amount_rule(None, 1251), facts(amount=1250))

    def test_other_currency_never_matches(self) -> None:
        assert not r.matches(amount_rule(0, 10**9, "USD"), facts(amount=1250, currency="EUR"))
        assert r.matches(amount_rule(0, 10**9, "USD"), facts(amount=1250, currency="USD"))

    def test_amount_is_the_money_moved_in_the_currency(self) -> None:
        assert facts(amount=1250).amounts == {"EUR": 1250}

    @settings(derandomize=True, max_examples=200)
    @given(
        amount=st.integers(1, 10**6),
        low=st.one_of(st.none(), st.integers(0, 10**6)),
        high=st.one_of(st.none(), st.integers(0, 10**6)),
    )
    def test_range_is_half_open(self, amount: int, low: int | None, high: int | None) -> None:
        expected = (low is None or low <= amount) and (high is None or amount < high)
        assert r.matches(amount_rule(low, high), facts(amount=amount)) == expected


class TestEvaluate:
    def test_all_matching_rules_apply_in_priority_order(self) -> None:
        first = rule("a", priority=1, actions=m.Actions(description="first", add_tags=("x",)))
        second = rule("b", priority=2, actions=m.Actions(add_tags=("y",)))
        after = r.evaluate([second, first], facts())
        assert after.description == "first"
        assert after.tags == ("x", "y")

    def test_a_later_rule_sees_the_earlier_rules_changes(self) -> None:
        rename = rule("a", priority=1, actions=m.Actions(description="Groceries"))
        tag = rule(
            "b",
            priority=2,
            conditions=m.Conditions(description_contains="groceries"),
            actions=m.Actions(add_tags=("food",)),
        )
        assert r.evaluate([tag, rename], facts()).tags == ("food",)

    def test_a_later_rule_replaces_an_earlier_value(self) -> None:
        low = rule("a", priority=1, actions=m.Actions(description="one"))
        high = rule("b", priority=2, actions=m.Actions(description="two"))
        assert r.evaluate([low, high], facts()).description == "two"

    def test_stop_ends_evaluation_after_its_rule(self) -> None:
        first = rule("a", priority=1, stop=True, actions=m.Actions(description="one"))
        second = rule("b", priority=2, actions=m.Actions(description="two"))
        assert r.evaluate([first, second], facts()).description == "one"

    def test_stop_of_a_rule_that_does_not_match_changes_nothing(self) -> None:
        other = rule(
            "a",
            priority=1,
            stop=True,
            conditions=m.Conditions(description_contains="butcher"),
            actions=m.Actions(description="one"),
        )
        second = rule("b", priority=2, actions=m.Actions(description="two"))
        assert r.evaluate([other, second], facts()).description == "two"

    def test_equal_priorities_apply_oldest_first(self) -> None:
        old = rule("z", created=0, actions=m.Actions(description="old"))
        new = rule("a", created=1, actions=m.Actions(description="new"))
        assert [x.rule_id for x in r.in_order([new, old])] == ["z", "a"]
        assert r.evaluate([new, old], facts()).description == "new"

    def test_tags_are_added_once_and_up_to_the_limit(self) -> None:
        tagging = rule(actions=m.Actions(add_tags=("a", "b")))
        assert r.evaluate([tagging], facts(tags=("a",))).tags == ("a", "b")
        full = tuple(f"t{i}" for i in range(r.MAX_TAGS - 1))
        assert r.evaluate([tagging], facts(tags=full)).tags == (*full, "a")

    def test_category_is_set_on_every_posting(self) -> None:
        filing = rule(actions=m.Actions(category_id="food"))
        filed = r.apply_to_draft([filing], draft(), {})
        assert [p.category_id for p in filed.postings] == ["food", "food"]

    def test_a_category_of_the_other_kind_is_not_set_on_a_new_expense(self) -> None:
        filing = rule(actions=m.Actions(category_id="salary", add_tags=("x",)))
        expense = replace(draft(), category_kind=CategoryKind.EXPENSE)
        filed = r.apply_to_draft([filing], expense, {"salary": CategoryKind.INCOME})
        assert [p.category_id for p in filed.postings] == [None, None]
        assert filed.tags == ("x",)
        kept = r.apply_to_draft([filing], expense, {"salary": CategoryKind.EXPENSE})
        assert [p.category_id for p in kept.postings] == ["salary", "salary"]

    def test_nothing_to_change_is_none(self) -> None:
        same = rule(actions=m.Actions(description="CORNER BAKERY 42"))
        before = facts()
        assert r.changes_between(before, r.evaluate([same], before)) is None


_WORDS = st.sampled_from(["bakery", "corner", "butcher", "42"])


@settings(derandomize=True, max_examples=100)
@given(
    specs=st.lists(st.tuples(st.integers(0, 3), _WORDS, _WORDS), min_size=1, max_size=6),
    description=st.lists(_WORDS, max_size=3).map(" ".join),
)
def test_with_stop_on_every_rule_only_the_first_match_applies(
    specs: list[tuple[int, str, str]], description: str
) -> None:
    all_stop = [
        rule(
            f"r{i}",
            priority=priority,
            stop=True,
            created=i,
            conditions=m.Conditions(description_contains=word),
            actions=m.Actions(description=f"{new} {i}", add_tags=(f"t{i}",)),
        )
        for i, (priority, word, new) in enumerate(specs)
    ]
    before = facts(description=description)
    first = next((x for x in r.in_order(all_stop) if r.matches(x, before)), None)
    expected = before if first is None else r.act(first.actions, before)
    assert r.evaluate(all_stop, before) == expected
