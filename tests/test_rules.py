"""RuleService over a real channel: rules kept and checked, applied on create, tried by
TestRule and applied by ApplyRules, every change audited."""

import uuid
from typing import Any

import grpc
import pytest
from finance.v1 import audit_service_pb2 as aupb
from finance.v1 import payee_service_pb2 as ppb
from finance.v1 import rule_service_pb2 as rpb
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import user_service_pb2 as upb
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2

from service.domain import rules as rule_logic
from service.services import rules as rule_service
from tests.builders import INCOME, Books, create_category, create_payee, create_user, day, money
from tests.helpers import field_violations, rpc_error, unpack

FAILED = grpc.StatusCode.FAILED_PRECONDITION
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def new_rule(**fields: Any) -> rpb.Rule:
    conditions = fields.pop("conditions", rpb.RuleConditions(description_contains="bakery"))
    actions = fields.pop("actions", rpb.RuleActions(set_description="Bread"))
    return rpb.Rule(
        display_name=fields.pop("display_name", "Bakery"),
        conditions=conditions,
        actions=actions,
        **fields,
    )


async def create_rule(rules: Any, parent: str, **fields: Any) -> rpb.Rule:
    rule: rpb.Rule = await rules.CreateRule(
        rpb.CreateRuleRequest(parent=parent, rule=new_rule(**fields))
    )
    return rule


async def expense(
    books: Books, account: Any, units: int = 12, description: str = "CORNER BAKERY", **fields: Any
) -> tpb.Transaction:
    result: tpb.Transaction = await books.transactions.RecordExpense(
        tpb.RecordExpenseRequest(
            parent=books.user.name,
            account=account.name,
            amount=money(units),
            booking_date=day(15),
            description=description,
            **fields,
        )
    )
    return result


async def get(books: Books, name: str) -> tpb.Transaction:
    found: tpb.Transaction = await books.transactions.GetTransaction(
        tpb.GetTransactionRequest(name=name)
    )
    return found


class TestCreateRule:
    async def test_returns_the_rule_with_its_references(self, rules, payees, categories, user):
        payee = await create_payee(payees, user.name)
        food = await create_category(categories, user.name)
        rule = await create_rule(
            rules,
            user.name,
            priority=3,
            stop=True,
            conditions=rpb.RuleConditions(
                payee=payee.name, amount_at_least=money(1), amount_below=money(50)
            ),
            actions=rpb.RuleActions(set_category=food.name, add_tags=["food"]),
        )
        assert rule.name.startswith(f"{user.name}/rules/")
        assert (rule.priority, rule.stop, rule.etag != "") == (3, True, True)
        assert rule.conditions.payee == payee.name
        assert rule.conditions.amount_below == money(50)
        assert rule.actions.set_category == food.name
        assert await rules.GetRule(rpb.GetRuleRequest(name=rule.name)) == rule

    async def test_retry_with_the_same_request_id_returns_the_first_rule(self, rules, user):
        request = rpb.CreateRuleRequest(
            parent=user.name, rule=new_rule(), request_id=str(uuid.uuid4())
        )
        assert await rules.CreateRule(request) == await rules.CreateRule(request)

    @pytest.mark.parametrize(
        ("rule", "field"),
        [
            (new_rule(conditions=rpb.RuleConditions()), "rule.conditions"),
            (new_rule(actions=rpb.RuleActions()), "rule.actions"),
            (
                new_rule(conditions=rpb.RuleConditions(description_regex="(unclosed")),
                "rule.conditions.description_regex",
            ),
            (
                new_rule(conditions=rpb.RuleConditions(description_regex="x" * 201)),
                "rule.conditions.description_regex",
            ),
            (
                new_rule(
                    conditions=rpb.RuleConditions(
                        amount_at_least=money(1), amount_below=money(5, "USD")
                    )
                ),
                "rule.conditions.amount_below.currency_code",
            ),
            (
                new_rule(
                    conditions=rpb.RuleConditions(amount_at_least=money(5), amount_below=money(5))
                ),
                "rule.conditions.amount_below",
            ),
            (
                new_rule(actions=rpb.RuleActions(add_tags=["a", "a"])),
                "rule.actions.add_tags",
            ),
            (new_rule(display_name=""), "rule.display_name"),
        ],
    )
    async def test_rejects_an_invalid_rule(self, rules, user, rule, field):
        error = await rpc_error(
            rules.CreateRule(rpb.CreateRuleRequest(parent=user.name, rule=rule)), INVALID
        )
        assert list(field_violations(error)) == [field]

    async def test_a_range_one_minor_unit_wide_is_valid(self, rules, user):
        cents = rpb.RuleConditions(
            amount_at_least=money(5), amount_below=money(5, nanos=10_000_000)
        )
        assert (await create_rule(rules, user.name, conditions=cents)).conditions == cents

    async def test_another_users_payee_is_not_found(self, rules, users, payees, user):
        other = await create_user(users)
        theirs = await create_payee(payees, other.name)
        conditions = rpb.RuleConditions(payee=theirs.name)
        await rpc_error(create_rule(rules, user.name, conditions=conditions), NOT_FOUND)

    async def test_an_unknown_category_is_not_found(self, rules, user):
        actions = rpb.RuleActions(set_category=f"{user.name}/categories/missing")
        error = await rpc_error(create_rule(rules, user.name, actions=actions), NOT_FOUND)
        assert "categories/missing" in (error.details() or "")


class TestListUpdateDeleteRule:
    async def test_lists_in_the_order_rules_apply(self, rules, user):
        late = await create_rule(rules, user.name, display_name="Late", priority=5)
        first = await create_rule(rules, user.name, display_name="First", priority=1)
        second = await create_rule(rules, user.name, display_name="Second", priority=5)
        listed = await rules.ListRules(rpb.ListRulesRequest(parent=user.name))
        assert [r.name for r in listed.rules] == [first.name, late.name, second.name]

    async def test_update_replaces_conditions_and_checks_the_etag(self, rules, user):
        rule = await create_rule(rules, user.name)
        changed = rpb.Rule(
            name=rule.name,
            etag=rule.etag,
            conditions=rpb.RuleConditions(external_id_contains="SEPA"),
        )
        request = rpb.UpdateRuleRequest(
            rule=changed, update_mask=field_mask_pb2.FieldMask(paths=["conditions"])
        )
        updated = await rules.UpdateRule(request)
        assert updated.conditions == rpb.RuleConditions(external_id_contains="SEPA")
        assert updated.actions == rule.actions
        await rpc_error(rules.UpdateRule(request), grpc.StatusCode.ABORTED)

    async def test_update_naming_an_unknown_account_is_not_found(self, rules, user):
        rule = await create_rule(rules, user.name)
        missing = f"{user.name}/accounts/missing"
        request = rpb.UpdateRuleRequest(
            rule=rpb.Rule(name=rule.name, conditions=rpb.RuleConditions(account=missing)),
            update_mask=field_mask_pb2.FieldMask(paths=["conditions"]),
        )
        error = await rpc_error(rules.UpdateRule(request), NOT_FOUND)
        assert missing in (error.details() or "")

    async def test_delete_then_not_found(self, rules, user):
        rule = await create_rule(rules, user.name)
        await rules.DeleteRule(rpb.DeleteRuleRequest(name=rule.name, etag=rule.etag))
        await rpc_error(rules.GetRule(rpb.GetRuleRequest(name=rule.name)), NOT_FOUND)

    async def test_a_payee_a_rule_names_cannot_be_deleted(self, rules, payees, user):
        payee = await create_payee(payees, user.name)
        await create_rule(rules, user.name, actions=rpb.RuleActions(set_payee=payee.name))
        error = await rpc_error(payees.DeletePayee(ppb.DeletePayeeRequest(name=payee.name)), FAILED)
        assert "rules" in (error.details() or "")

    async def test_changes_are_audited(self, rules, audit, user):
        rule = await create_rule(rules, user.name)
        events = await audit.ListAuditEvents(
            aupb.ListAuditEventsRequest(parent=user.name, filter=f'resource = "{rule.name}"')
        )
        assert [e.action for e in events.audit_events] == ["create"]


class TestRulesOfADeletedUser:
    async def test_count_as_what_the_user_still_has(self, rules, users, user):
        await create_rule(rules, user.name)
        error = await rpc_error(users.DeleteUser(upb.DeleteUserRequest(name=user.name)), FAILED)
        assert "1 rule" in (error.details() or "")

    async def test_go_with_a_forced_delete(self, rules, users, payees, user):
        payee = await create_payee(payees, user.name)
        await create_rule(rules, user.name, actions=rpb.RuleActions(set_payee=payee.name))
        await users.DeleteUser(upb.DeleteUserRequest(name=user.name, force=True))
        await rpc_error(rules.ListRules(rpb.ListRulesRequest(parent=user.name)), NOT_FOUND)


class TestApplyOnCreate:
    async def test_rules_file_a_new_expense_when_asked(self, rules, payees, categories, books):
        account = await books.account()
        payee = await create_payee(payees, books.user.name)
        food = await create_category(categories, books.user.name)
        await create_rule(
            rules,
            books.user.name,
            actions=rpb.RuleActions(
                set_category=food.name,
                set_payee=payee.name,
                add_tags=["food"],
                set_description="Bread",
            ),
        )
        filed = await expense(books, account, apply_rules=True)
        assert (filed.description, filed.payee, list(filed.tags)) == ("Bread", payee.name, ["food"])
        assert {p.category for p in filed.postings} == {food.name}
        untouched = await expense(books, account)
        assert (untouched.description, untouched.payee) == ("CORNER BAKERY", "")

    async def test_income_is_filed_only_under_an_income_category(self, rules, categories, books):
        account = await books.account()
        salary = await create_category(categories, books.user.name, "Salary", INCOME)
        food = await create_category(categories, books.user.name, "Food")
        for category in (salary, food):  # food last: it would win, were it not skipped
            actions = rpb.RuleActions(set_category=category.name, add_tags=[category.display_name])
            await create_rule(rules, books.user.name, actions=actions)
        income = await books.transactions.RecordIncome(
            tpb.RecordIncomeRequest(
                parent=books.user.name,
                account=account.name,
                amount=money(100),
                booking_date=day(15),
                description="Bakery pays wages",
                apply_rules=True,
            )
        )
        assert {p.category for p in income.postings} == {salary.name}
        assert sorted(income.tags) == ["Food", "Salary"]

    async def test_create_transaction_applies_rules_too(self, rules, books):
        account, other = await books.account(), await books.account("Savings")
        await create_rule(rules, books.user.name)
        created = await books.transactions.CreateTransaction(
            tpb.CreateTransactionRequest(
                parent=books.user.name,
                transaction=tpb.Transaction(
                    booking_date=day(15),
                    description="bakery",
                    postings=[
                        tpb.Posting(account=account.name, amount=money(-3)),
                        tpb.Posting(account=other.name, amount=money(3)),
                    ],
                ),
                apply_rules=True,
            )
        )
        assert created.description == "Bread"

    async def test_amount_edges_inclusive_below_exclusive(self, rules, books):
        account = await books.account()
        band = rpb.RuleConditions(amount_at_least=money(10), amount_below=money(20))
        await create_rule(rules, books.user.name, conditions=band)
        described = [
            (await expense(books, account, units, apply_rules=True)).description
            for units in (9, 10, 19, 20)
        ]
        assert described == ["CORNER BAKERY", "Bread", "Bread", "CORNER BAKERY"]

    async def test_first_match_with_stop(self, rules, books):
        account = await books.account()
        await create_rule(
            rules, books.user.name, priority=1, stop=True, actions=rpb.RuleActions(add_tags=["a"])
        )
        await create_rule(
            rules, books.user.name, priority=2, actions=rpb.RuleActions(add_tags=["b"])
        )
        assert list((await expense(books, account, apply_rules=True)).tags) == ["a"]

    async def test_a_pathological_pattern_fails_the_call_instead_of_hanging(self, rules, books):
        account = await books.account()
        slow = await create_rule(
            rules, books.user.name, conditions=rpb.RuleConditions(description_regex="(a|aa)+$")
        )
        call = books.transactions.RecordExpense(
            tpb.RecordExpenseRequest(
                parent=books.user.name,
                account=account.name,
                amount=money(1),
                booking_date=day(15),
                description="a" * 100 + "!",
                apply_rules=True,
            ),
            timeout=30,
        )
        error = await rpc_error(call, FAILED)
        failure = unpack(error, error_details_pb2.PreconditionFailure)
        assert [(v.type, v.subject) for v in failure.violations] == [
            ("RULE_PATTERN_TOO_SLOW", slow.name)
        ]


class TestTestRule:
    async def test_shows_what_would_change_without_writing(self, rules, books):
        account = await books.account()
        bakery = await expense(books, account, description="Corner bakery")
        await expense(books, account, description="Butcher")
        rule = await create_rule(rules, books.user.name)
        result = await rules.TestRule(rpb.TestRuleRequest(name=rule.name))
        assert [c.transaction for c in result.changes] == [bakery.name]
        assert list(result.changes[0].changed_fields) == ["description"]
        assert result.changes[0].proposed.description == "Bread"
        assert result.next_page_token == ""
        assert await get(books, bakery.name) == bakery

    async def test_pages_through_the_changes(self, rules, books, monkeypatch):
        monkeypatch.setattr(rule_service, "BATCH", 2)
        account = await books.account()
        made = {(await expense(books, account)).name for _ in range(5)}
        rule = await create_rule(rules, books.user.name)
        seen, token = [], ""
        while True:
            page = await rules.TestRule(
                rpb.TestRuleRequest(name=rule.name, page_size=2, page_token=token)
            )
            assert len(page.changes) <= 2
            seen += [c.transaction for c in page.changes]
            token = page.next_page_token
            if not token:
                break
        assert sorted(seen) == sorted(made)

    async def test_stops_looking_after_max_examined(self, rules, books, monkeypatch):
        monkeypatch.setattr(rule_service, "BATCH", 2)
        monkeypatch.setattr(rule_service, "MAX_EXAMINED", 2)
        account = await books.account()
        for description in ("x", "y", "bakery"):
            await expense(books, account, description=description)
        rule = await create_rule(rules, books.user.name)
        page = await rules.TestRule(rpb.TestRuleRequest(name=rule.name))
        assert len(page.changes) <= 1
        assert page.next_page_token != ""

    async def test_a_bad_filter_is_invalid(self, rules, user):
        rule = await create_rule(rules, user.name)
        error = await rpc_error(
            rules.TestRule(rpb.TestRuleRequest(name=rule.name, filter="nonsense >")), INVALID
        )
        assert list(field_violations(error)) == ["filter"]


class TestApplyRules:
    async def test_changes_matching_transactions_in_batches_and_audits_each(
        self, rules, audit, books, monkeypatch
    ):
        monkeypatch.setattr(rule_service, "BATCH", 2)
        account = await books.account()
        matching = [await expense(books, account) for _ in range(3)]
        other = await expense(books, account, description="Butcher")
        await create_rule(rules, books.user.name)
        applied = await rules.ApplyRules(rpb.ApplyRulesRequest(parent=books.user.name))
        assert (applied.examined_count, applied.changed_count) == (4, 3)
        assert sorted(applied.changed_transactions) == sorted(t.name for t in matching)
        changed = await get(books, matching[0].name)
        assert changed.description == "Bread"
        assert changed.etag != matching[0].etag
        assert await get(books, other.name) == other
        events = await audit.ListAuditEvents(
            aupb.ListAuditEventsRequest(
                parent=books.user.name, filter=f'resource = "{matching[0].name}"'
            )
        )
        assert [e.action for e in events.audit_events] == ["create", "apply_rules"]

    async def test_only_the_filtered_transactions(self, rules, books):
        account = await books.account()
        january = await expense(books, account)
        february = await books.transactions.RecordExpense(
            tpb.RecordExpenseRequest(
                parent=books.user.name,
                account=account.name,
                amount=money(1),
                booking_date=day(3, 2),
                description="bakery",
            )
        )
        await create_rule(rules, books.user.name)
        applied = await rules.ApplyRules(
            rpb.ApplyRulesRequest(parent=books.user.name, filter='booking_date < "2024-02-01"')
        )
        assert list(applied.changed_transactions) == [january.name]
        assert (await get(books, february.name)).description == "bakery"

    async def test_running_again_changes_nothing(self, rules, books):
        account = await books.account()
        await expense(books, account)
        await create_rule(rules, books.user.name, actions=rpb.RuleActions(add_tags=["food"]))
        request = rpb.ApplyRulesRequest(parent=books.user.name)
        assert (await rules.ApplyRules(request)).changed_count == 1
        assert (await rules.ApplyRules(request)).changed_count == 0

    async def test_names_at_most_max_reported_changes_and_counts_them_all(
        self, rules, books, monkeypatch
    ):
        monkeypatch.setattr(rule_logic, "MAX_REPORTED", 1)
        account = await books.account()
        for _ in range(2):
            await expense(books, account)
        await create_rule(rules, books.user.name)
        applied = await rules.ApplyRules(rpb.ApplyRulesRequest(parent=books.user.name))
        assert (applied.changed_count, len(applied.changed_transactions)) == (2, 1)

    async def test_an_unknown_user_is_not_found(self, rules):
        await rpc_error(rules.ApplyRules(rpb.ApplyRulesRequest(parent="users/nobody")), NOT_FOUND)
