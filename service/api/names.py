"""Resource names (AIP-122) both ways: `users/{user}` and `users/{user}/{collection}/{id}`
parsed into typed keys, and keys rendered as names. The only place names are formatted."""

import re
from collections.abc import Callable

from service.api.bad_request import BadRequest
from service.domain.errors import excerpt
from service.domain.keys import (
    AccountKey,
    BudgetKey,
    CategoryKey,
    ExchangeRateKey,
    MemberKey,
    PayeeKey,
    RecurringTransactionKey,
    ResourceKey,
    RuleKey,
    StatementKey,
    TransactionKey,
    UserKey,
)

# The user IDs CreateUser takes: one a client chooses (AIP-122: a letter first), or one in the
# form the server assigns, a lowercase UUID, which may start with a digit: a user copied from
# another instance, or restored, keeps the name the server gave it.
USER_ID = re.compile(
    r"[a-z][a-z0-9-]{2,61}[a-z0-9]"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
# Any ID in a name: wider than USER_ID, so that every ID the service made stays readable.
_ID = r"([a-z0-9][a-z0-9-]{0,62})"
_USER_NAME = re.compile(rf"users/{_ID}")
# The collection of recurring transactions (AIP-122: camelCase).
RECURRING = "recurringTransactions"

# The resource type of each kind of key (AIP-123), in error details.
RESOURCE_TYPES: dict[type, str] = {
    UserKey: "User",
    AccountKey: "Account",
    CategoryKey: "Category",
    PayeeKey: "Payee",
    TransactionKey: "Transaction",
    MemberKey: "Member",
    RecurringTransactionKey: "RecurringTransaction",
    ExchangeRateKey: "ExchangeRate",
    RuleKey: "Rule",
    StatementKey: "Statement",
    BudgetKey: "Budget",
}


def parse_user_name(name: str, field: str = "name") -> UserKey:
    """The key of a `users/{user}` name; BadRequest on `field` if malformed."""
    # fullmatch, as `$` would also match before a final newline.
    match = _USER_NAME.fullmatch(name)
    if match is None:
        raise BadRequest.single(field, _malformed(name, "users/{user}"))
    return UserKey(match[1])


def parse_user_child(
    name: str, collection: str, field: str = "name", *, id_label: str = "id"
) -> tuple[str, str]:
    """The (user id, child id) of a `users/{user}/{collection}/{id}` name, such as
    `users/ada/categories/food`; BadRequest on `field` if malformed (`id_label` names the id
    in the message)."""
    match = re.fullmatch(rf"users/{_ID}/{re.escape(collection)}/{_ID}", name)
    if match is None:
        pattern = f"users/{{user}}/{collection}/{{{id_label}}}"
        raise BadRequest.single(field, _malformed(name, pattern))
    return match[1], match[2]


def parse_account_name(name: str, field: str = "name") -> AccountKey:
    """The key of a `users/{user}/accounts/{account}` name; BadRequest if malformed."""
    return AccountKey(*parse_user_child(name, "accounts", field, id_label="account"))


def parse_category_name(name: str, field: str = "name") -> CategoryKey:
    """The key of a `users/{user}/categories/{category}` name; BadRequest if malformed."""
    return CategoryKey(*parse_user_child(name, "categories", field))


def parse_payee_name(name: str, field: str = "name") -> PayeeKey:
    """The key of a `users/{user}/payees/{payee}` name; BadRequest if malformed."""
    return PayeeKey(*parse_user_child(name, "payees", field))


def parse_transaction_name(name: str, field: str = "name") -> TransactionKey:
    """The key of a `users/{user}/transactions/{transaction}` name; BadRequest if malformed."""
    return TransactionKey(*parse_user_child(name, "transactions", field))


def parse_member_name(name: str, field: str = "name") -> MemberKey:
    """The key of a `users/{user}/members/{member}` name; BadRequest if malformed."""
    return MemberKey(*parse_user_child(name, "members", field, id_label="member"))


def parse_recurring_transaction_name(name: str, field: str = "name") -> RecurringTransactionKey:
    """The key of a `users/{user}/recurringTransactions/{recurring_transaction}` name;
    BadRequest if malformed."""
    return RecurringTransactionKey(
        *parse_user_child(name, RECURRING, field, id_label="recurring_transaction")
    )


def parse_exchange_rate_name(name: str, field: str = "name") -> ExchangeRateKey:
    """The key of a `users/{user}/exchangeRates/{exchange_rate}` name; BadRequest if
    malformed."""
    return ExchangeRateKey(
        *parse_user_child(name, "exchangeRates", field, id_label="exchange_rate")
    )


def parse_rule_name(name: str, field: str = "name") -> RuleKey:
    """The key of a `users/{user}/rules/{rule}` name; BadRequest if malformed."""
    return RuleKey(*parse_user_child(name, "rules", field, id_label="rule"))


def parse_statement_name(name: str, field: str = "name") -> StatementKey:
    """The key of a `users/{user}/accounts/{account}/statements/{statement}` name; BadRequest
    if malformed."""
    match = _STATEMENT_NAME.fullmatch(name)
    if match is None:
        pattern = "users/{user}/accounts/{account}/statements/{statement}"
        raise BadRequest.single(field, _malformed(name, pattern))
    return StatementKey(match[1], match[2], match[3])


_STATEMENT_NAME = re.compile(rf"users/{_ID}/accounts/{_ID}/statements/{_ID}")


def parse_budget_name(name: str, field: str = "name") -> BudgetKey:
    """The key of a `users/{user}/budgets/{budget}` name; BadRequest if malformed."""
    return BudgetKey(*parse_user_child(name, "budgets", field, id_label="budget"))


_CHILD_KEYS: dict[str, Callable[[str, str], ResourceKey]] = {
    "accounts": AccountKey,
    "categories": CategoryKey,
    "payees": PayeeKey,
    "transactions": TransactionKey,
    "members": MemberKey,
    RECURRING: RecurringTransactionKey,
    "exchangeRates": ExchangeRateKey,
    "rules": RuleKey,
    "budgets": BudgetKey,
}


def parse_child_name(name: str, collection: str, field: str = "name") -> ResourceKey:
    """The key of a `users/{user}/{collection}/{id}` name; BadRequest if malformed."""
    return _CHILD_KEYS[collection](*parse_user_child(name, collection, field))


def parse_any_name(name: str, field: str = "name") -> ResourceKey:
    """The key of a user's name or of one of its resources'; BadRequest if neither."""
    if _USER_NAME.fullmatch(name):
        return parse_user_name(name, field)
    parts = name.split("/")
    if len(parts) == 4 and parts[2] in _CHILD_KEYS:
        return parse_child_name(name, parts[2], field)
    if len(parts) == 6 and parts[4] == "statements":
        return parse_statement_name(name, field)
    raise BadRequest.single(field, _malformed(name, "users/{user}/{collection}/{id}"))


def resource_name(key: ResourceKey) -> str:
    """The resource name of `key`."""
    match key:
        case UserKey(user_id):
            return f"users/{user_id}"
        case AccountKey(user_id, account_id):
            return child_name(user_id, "accounts", account_id)
        case CategoryKey(user_id, category_id):
            return child_name(user_id, "categories", category_id)
        case PayeeKey(user_id, payee_id):
            return child_name(user_id, "payees", payee_id)
        case TransactionKey(user_id, transaction_id):
            return child_name(user_id, "transactions", transaction_id)
        case MemberKey(user_id, member_id):
            return child_name(user_id, "members", member_id)
        case RecurringTransactionKey(user_id, recurring_id):
            return child_name(user_id, RECURRING, recurring_id)
        case ExchangeRateKey(user_id, exchange_rate_id):
            return child_name(user_id, "exchangeRates", exchange_rate_id)
        case RuleKey(user_id, rule_id):
            return child_name(user_id, "rules", rule_id)
        case StatementKey(user_id, account_id, statement_id):
            return f"{child_name(user_id, 'accounts', account_id)}/statements/{statement_id}"
        case BudgetKey(user_id, budget_id):
            return child_name(user_id, "budgets", budget_id)


def child_name(user_id: str, collection: str, child_id: str) -> str:
    """The resource name `users/{user_id}/{collection}/{child_id}`."""
    return f"users/{user_id}/{collection}/{child_id}"


def _malformed(name: str, pattern: str) -> str:
    if not name:
        return f"is required, as {pattern}"
    return f"{excerpt(name)} is not a resource name of the form {pattern}"
