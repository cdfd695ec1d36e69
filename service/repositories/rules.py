"""Rules: the conditions and actions that file a user's transactions."""

import asyncpg

from service.domain.errors import NotFound
from service.domain.keys import AccountKey, CategoryKey, PayeeKey, ResourceKey, RuleKey, UserKey
from service.domain.listing import ListQuery, OrderKey, Page
from service.domain.rule_models import Actions, AmountRange, Conditions, NewRule, Rule, RuleChanges
from service.repositories.querying import Field, Kind, Listing
from service.repositories.rows import RowRepository, Table

_COLUMNS = (
    "user_id, rule_id, display_name, priority, stop, description_contains, description_regex,"
    " payee_id, amount_currency, amount_at_least, amount_below, account_id,"
    " external_id_contains, set_category_id, set_payee_id, add_tags, set_description,"
    " revision, create_time, update_time"
)

_INSERT = f"""
INSERT INTO rules (user_id, rule_id, display_name, priority, stop, description_contains,
                   description_regex, payee_id, amount_currency, amount_at_least, amount_below,
                   account_id, external_id_contains, set_category_id, set_payee_id, add_tags,
                   set_description)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
RETURNING {_COLUMNS}
"""

_IN_ORDER = f"""
SELECT {_COLUMNS} FROM rules WHERE user_id = $1 ORDER BY priority, create_time, rule_id
"""

# The key each foreign key of a rule names, by the column it is on.
_REFERENCES: dict[str, type[AccountKey | CategoryKey | PayeeKey]] = {
    "set_category_id": CategoryKey,
    "set_payee_id": PayeeKey,
    "account_id": AccountKey,
    "payee_id": PayeeKey,
}


def _rule(row: asyncpg.Record) -> Rule:
    amount = None
    if row["amount_currency"] is not None:
        amount = AmountRange(row["amount_currency"], row["amount_at_least"], row["amount_below"])
    return Rule(
        user_id=row["user_id"],
        rule_id=row["rule_id"],
        display_name=row["display_name"],
        priority=row["priority"],
        stop=row["stop"],
        conditions=Conditions(
            description_contains=row["description_contains"],
            description_regex=row["description_regex"],
            payee_id=row["payee_id"],
            amount=amount,
            account_id=row["account_id"],
            external_id_contains=row["external_id_contains"],
        ),
        actions=Actions(
            category_id=row["set_category_id"],
            payee_id=row["set_payee_id"],
            add_tags=tuple(row["add_tags"]),
            description=row["set_description"],
        ),
        revision=row["revision"],
        create_time=row["create_time"],
        update_time=row["update_time"],
    )


def condition_columns(conditions: Conditions) -> dict[str, object]:
    """The columns that hold `conditions`."""
    amount = conditions.amount
    return {
        "description_contains": conditions.description_contains,
        "description_regex": conditions.description_regex,
        "payee_id": conditions.payee_id,
        "amount_currency": None if amount is None else amount.currency_code,
        "amount_at_least": None if amount is None else amount.at_least,
        "amount_below": None if amount is None else amount.below,
        "account_id": conditions.account_id,
        "external_id_contains": conditions.external_id_contains,
    }


def action_columns(actions: Actions) -> dict[str, object]:
    """The columns that hold `actions`."""
    return {
        "set_category_id": actions.category_id,
        "set_payee_id": actions.payee_id,
        "add_tags": list(actions.add_tags),
        "set_description": actions.description,
    }


RULES = Table(
    name="rules",
    columns=_COLUMNS,
    key_columns=("user_id", "rule_id"),
    listing=Listing(
        fields={
            "display_name": Field("display_name", Kind.TEXT),
            "priority": Field("priority", Kind.INTEGER),
            "create_time": Field("create_time", Kind.TIMESTAMP),
            "update_time": Field("update_time", Kind.TIMESTAMP),
        },
        id_column="rule_id",
        default_order=(OrderKey("priority"), OrderKey("create_time")),
    ),
    from_row=_rule,
)


class RuleRepository(RowRepository[Rule, RuleKey]):
    """Reads and writes rules."""

    table = RULES

    async def insert(self, key: RuleKey, new: NewRule) -> Rule:
        """Insert a rule. Raises NotFound for an unknown owner, or a payee, account or
        category of the rule that is not the owner's."""
        columns = {**condition_columns(new.conditions), **action_columns(new.actions)}
        try:
            row = await self._connection.fetchrow(
                _INSERT,
                key.user_id,
                key.rule_id,
                new.display_name,
                new.priority,
                new.stop,
                *columns.values(),
            )
        except asyncpg.ForeignKeyViolationError as error:
            raise _missing_reference(key.user_id, error, columns) from None
        assert row is not None
        return _rule(row)

    async def change(self, key: RuleKey, changes: RuleChanges) -> Rule:
        """Write the new values of a rule's fields. Raises NotFound for the rule, or for a
        payee, account or category it would name that is not the owner's."""
        assignments: dict[str, object] = {
            column: value
            for column, value in (
                ("display_name", changes.display_name),
                ("priority", changes.priority),
                ("stop", changes.stop),
            )
            if value is not None
        }
        if changes.conditions is not None:
            assignments.update(condition_columns(changes.conditions))
        if changes.actions is not None:
            assignments.update(action_columns(changes.actions))
        try:
            return await self.update(key, assignments)
        except asyncpg.ForeignKeyViolationError as error:
            raise _missing_reference(key.user_id, error, assignments) from None

    async def list_owned(self, owner: UserKey, query: ListQuery) -> Page[Rule]:
        """One page of the owner's rules."""
        return await self.list(query, scope={"user_id": owner.user_id})

    async def in_order(self, owner: UserKey) -> list[Rule]:
        """Every rule of the owner, in the order they apply."""
        return [_rule(row) for row in await self._connection.fetch(_IN_ORDER, owner.user_id)]


def _missing_reference(
    user_id: str, error: asyncpg.ForeignKeyViolationError, columns: dict[str, object]
) -> NotFound:
    """NotFound for the payee, account or category a foreign key found missing, read from
    the values written (row-level security keeps the key out of the error's detail)."""
    constraint = error.constraint_name or ""
    for column, key_type in _REFERENCES.items():
        if column in constraint:
            key: ResourceKey = key_type(user_id, str(columns[column]))
            return NotFound(key)
    return NotFound(UserKey(user_id))
