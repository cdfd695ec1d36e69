"""Rules for users, accounts, categories and payees, over data the repositories loaded."""

from collections.abc import Mapping

from service.domain.categories import CategoryKind
from service.domain.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from service.domain.keys import AccountKey, CategoryKey, PayeeKey, ResourceKey, UserKey
from service.domain.models import Account, Money


def _refuse(kind: str, subject: ResourceKey, description: str) -> FailedPrecondition:
    return FailedPrecondition(PreconditionViolation(kind, subject, description))


# The plural kinds (table names) whose singular is not the plural less its final "s".
_SINGULAR = {"categories": "category", "entries": "entry"}


def _singular(kind: str) -> str:
    return _SINGULAR.get(kind, kind.removesuffix("s"))


def check_user_deletable(key: UserKey, holdings: Mapping[str, int]) -> None:
    """A user is deleted without `force` only once it has nothing left (AIP-135): the error
    lists what is left, such as "2 accounts, 1 payee"."""
    left = [
        f"{count} {kind if count != 1 else _singular(kind)}"
        for kind, count in holdings.items()
        if count
    ]
    if left:
        raise _refuse(
            "USER_NOT_EMPTY",
            key,
            f"the user still has {', '.join(left)}; delete them first, or delete the user with"
            " force",
        )


def check_changeable(account: Account) -> None:
    """The accounts the service keeps for a user (Expenses, Income, Opening balances, Currency
    trading) are read-only to callers: every expense would fail once one were archived."""
    if account.system_managed:
        raise _refuse(
            "SYSTEM_ACCOUNT",
            account.key,
            "the service keeps this account for the user; it cannot be changed or deleted",
        )


def check_credit_limit(account: Account, limit: Money | None) -> None:
    """A new credit limit is in the account's currency."""
    if limit is not None and limit.currency_code != account.currency_code:
        raise InvalidArgument.single(
            "credit_limit.currency_code", f"must be the account's currency {account.currency_code}"
        )


def check_account_deletable(account: Account) -> None:
    """Only an account with a zero balance may be deleted; others are archived."""
    if account.balance != 0:
        raise _refuse(
            "ACCOUNT_BALANCE_NOT_ZERO",
            account.key,
            "the account's balance is not zero; archive it instead",
        )


def account_in_use(key: AccountKey) -> FailedPrecondition:
    """The error for deleting an account that other records refer to."""
    return _refuse("ACCOUNT_IN_USE", key, "other records refer to the account; archive it instead")


def check_parent(
    owner: UserKey, parent: CategoryKey, parent_kind: CategoryKind | None, kind: CategoryKind
) -> None:
    """A parent category is the owner's (another user's is NotFound, exactly like a missing
    one) and of the same kind as its child."""
    if parent.user_id != owner.user_id or parent_kind is None:
        raise NotFound(parent)
    if parent_kind is not kind:
        description = f"is for {parent_kind.value}; the parent must be {kind.value}"
        raise InvalidArgument([FieldViolation("parent", description, subject=parent)])


def check_not_own_ancestor(*, would_cycle: bool) -> None:
    """A category cannot move under itself or one of its descendants."""
    if would_cycle:
        raise InvalidArgument.single(
            "parent",
            "would make the category its own ancestor; choose a category outside its subtree",
        )


def check_category_deletable(key: CategoryKey, *, has_children: bool) -> None:
    """A category with sub-categories is not deleted: they would lose their parent."""
    if has_children:
        raise _refuse(
            "CATEGORY_HAS_SUBCATEGORIES",
            key,
            "the category has sub-categories; move or delete them first",
        )


def category_in_use(key: CategoryKey) -> FailedPrecondition:
    """The error for deleting a category that other records refer to."""
    return _refuse(
        "CATEGORY_IN_USE", key, "other records refer to the category; recategorize them first"
    )


def payee_in_use(key: PayeeKey) -> FailedPrecondition:
    """The error for deleting a payee that transactions or rules refer to."""
    return _refuse(
        "PAYEE_IN_USE",
        key,
        "transactions or rules refer to the payee; change their payee first",
    )
