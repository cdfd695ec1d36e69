"""How everyday movements of money become balanced transactions: expenses, income, transfers
(across currencies too) and opening balances.

Each draft names the command field of each posting's amount (`amount`, `to_amount`), so that
an error about a posting points at what the caller sent.
"""

from dataclasses import replace
from datetime import date

from service.domain.categories import CategoryKind
from service.domain.errors import FieldViolation, InvalidArgument
from service.domain.ledger import (
    ClearingStatus,
    PostingDraft,
    SystemRole,
    TransactionDraft,
    major_units,
)
from service.domain.models import NewAccount


def expense_draft(
    account: PostingDraft, *, base: TransactionDraft, category_id: str | None
) -> TransactionDraft:
    """An everyday expense: `account.amount` (positive) leaves the account for the user's
    expense account in the same currency, under `category_id`."""
    return _simple(account, base, category_id, SystemRole.EXPENSE, spend=True)


def income_draft(
    account: PostingDraft, *, base: TransactionDraft, category_id: str | None
) -> TransactionDraft:
    """Income: `account.amount` (positive) arrives in the account from the user's income
    account in the same currency, under `category_id`."""
    return _simple(account, base, category_id, SystemRole.INCOME, spend=False)


def _simple(
    account: PostingDraft,
    base: TransactionDraft,
    category_id: str | None,
    role: SystemRole,
    *,
    spend: bool,
) -> TransactionDraft:
    if account.amount <= 0:
        raise InvalidArgument.single("amount", "must be positive")
    sign = -1 if spend else 1
    own = replace(account, amount=sign * account.amount, category_id=category_id)
    counterpart = PostingDraft(
        account_id="",
        amount=-sign * account.amount,
        currency_code=account.currency_code,
        category_id=category_id,
        system_role=role,
    )
    return replace(
        base,
        postings=(own, counterpart),
        posting_fields=("amount", "amount"),
        category_kind=CategoryKind.EXPENSE if spend else CategoryKind.INCOME,
    )


def transfer_draft(
    source: PostingDraft,
    destination: PostingDraft,
    *,
    base: TransactionDraft,
    to_amount_given: bool = True,
) -> TransactionDraft:
    """A transfer of `source.amount` out of one account and `destination.amount` into another
    (both positive). Between currencies, each leg balances through the user's currency trading
    account of its currency, and the rate (destination per source unit) is kept. Without
    `to_amount_given`, the destination amount is the source's, which only a transfer within
    one currency can do."""
    implied = frozenset() if to_amount_given else frozenset({"to_amount"})
    base = replace(base, implied_fields=implied)
    violations = []
    if source.amount <= 0:
        violations.append(FieldViolation("amount", "must be positive"))
    if destination.amount <= 0:
        violations.append(FieldViolation("to_amount", "must be positive"))
    if source.account_id == destination.account_id:
        violations.append(FieldViolation("to_account", "must differ from from_account"))
    same_currency = source.currency_code == destination.currency_code
    if same_currency and source.amount != destination.amount:
        violations.append(FieldViolation("to_amount", "must equal amount in the same currency"))
    if violations:
        raise InvalidArgument(violations)
    out = replace(source, amount=-source.amount)
    if same_currency:
        return replace(base, postings=(out, destination), posting_fields=("amount", "to_amount"))
    rate = major_units(destination.amount, destination.currency_code) / major_units(
        source.amount, source.currency_code
    )
    trading_in = PostingDraft(
        "", source.amount, source.currency_code, system_role=SystemRole.TRADING
    )
    trading_out = PostingDraft(
        "", -destination.amount, destination.currency_code, system_role=SystemRole.TRADING
    )
    return replace(
        base,
        postings=(out, trading_in, trading_out, destination),
        posting_fields=("amount", "amount", "to_amount", "to_amount"),
        exchange_rate=rate,
    )


def opening_balance_draft(account_id: str, new: NewAccount, day: date) -> TransactionDraft:
    """The transaction that gives a new account its opening balance, against the user's
    opening balances account (equity), so that the books still balance. The account's posting
    is cleared: the balance it opens with is the one its bank shows."""
    return TransactionDraft(
        booking_date=day,
        description="Opening balance",
        postings=(
            PostingDraft(
                account_id,
                new.opening_balance,
                new.currency_code,
                clearing_status=ClearingStatus.CLEARED,
            ),
            PostingDraft(
                "", -new.opening_balance, new.currency_code, system_role=SystemRole.OPENING
            ),
        ),
        posting_fields=("opening_balance", "opening_balance"),
    )
