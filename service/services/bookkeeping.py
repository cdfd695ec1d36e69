"""Recording a transaction inside a unit of work: what every ledger write shares (new
transactions, reversals, opening balances)."""

from dataclasses import replace

from service.db.unit_of_work import Work
from service.domain import ledger_rules
from service.domain.categories import CategoryKind
from service.domain.errors import AlreadyExists, NotFound
from service.domain.exchange_rates import NewExchangeRate, rate_problem, transfer_rate
from service.domain.keys import CategoryKey, PayeeKey, TransactionKey, UserKey
from service.domain.ledger import Transaction, TransactionChanges, TransactionDraft
from service.domain.statements import check_clearing_changes


async def check_references(
    work: Work, owner: UserKey, payee_id: str | None, category_ids: list[str | None]
) -> dict[str, CategoryKind]:
    """Raise NotFound for a payee or category that is not the owner's; returns the kind of
    each category."""
    if payee_id is not None and not await work.payees.exists(PayeeKey(owner.user_id, payee_id)):
        raise NotFound(PayeeKey(owner.user_id, payee_id))
    kinds = await work.categories.kinds(owner, category_ids)
    for category_id in category_ids:
        if category_id is not None and category_id not in kinds:
            raise NotFound(CategoryKey(owner.user_id, category_id))
    return kinds


async def _resolve_system_accounts(
    work: Work, owner: UserKey, draft: TransactionDraft
) -> TransactionDraft:
    """The draft with each system role replaced by the owner's account for it, created on
    first use."""
    postings = []
    for posting in draft.postings:
        if posting.system_role is not None:
            account_id = await work.accounts.system_account(
                owner, posting.system_role, posting.currency_code, day=draft.booking_date
            )
            posting = replace(posting, account_id=account_id, system_role=None)
        postings.append(posting)
    return replace(draft, postings=tuple(postings))


async def record_transaction(
    work: Work, key: TransactionKey, draft: TransactionDraft, *, reverses_id: str | None = None
) -> Transaction:
    """Write a balanced transaction, move the balances of its accounts (locked in key order)
    and add it to the audit trail.

    Raises NotFound for an unknown account, payee or category, InvalidArgument for a posting
    in another currency than its account's, FailedPrecondition for an archived account or a
    broken credit limit, AlreadyExists for an external id one of its accounts has already.
    """
    owner = UserKey(key.user_id)
    requested = draft
    kinds = await check_references(
        work, owner, draft.payee_id, [p.category_id for p in draft.postings]
    )
    ledger_rules.check_category_kinds(draft, kinds, user_id=owner.user_id)
    named = {p.account_id for p in draft.postings if p.system_role is None}
    draft = await _resolve_system_accounts(work, owner, draft)
    accounts = await work.accounts.lock_for_ledger(owner, {p.account_id for p in draft.postings})
    ledger_rules.check_postable(draft, accounts, user_id=owner.user_id, named=named)
    if draft.external_id is not None:
        # Under the accounts' locks, so that two writers of one id cannot both pass.
        existing = await work.transactions.with_external_id(owner, draft.external_id, named)
        if existing is not None:
            raise AlreadyExists(existing)
    changes = ledger_rules.balance_changes(draft.postings, pending=draft.pending)
    ledger_rules.check_limits(accounts, changes)
    transaction = await work.transactions.insert(key, draft, reverses_id=reverses_id)
    await work.accounts.change_balances(owner, changes)
    await work.record(key, "create", before=None, after=transaction)
    if draft.exchange_rate is not None and reverses_id is None:
        await _keep_transfer_rate(work, owner, requested)
    return transaction


async def _keep_transfer_rate(work: Work, owner: UserKey, draft: TransactionDraft) -> None:
    """Keep the rate a transfer between currencies implies, as the pair's rate of its day
    where the user has none (the rates reports and budgets convert with). `draft` is the
    transfer as requested: its named accounts, before the trading legs were resolved."""
    named = [p for p in draft.postings if p.system_role is None]
    sent = next((p for p in named if p.amount < 0), None)
    received = next((p for p in named if p.amount > 0), None)
    if sent is None or received is None or sent.currency_code == received.currency_code:
        return
    rate = transfer_rate(-sent.amount, sent.currency_code, received.amount, received.currency_code)
    if rate_problem(rate) is None:
        new = NewExchangeRate(sent.currency_code, received.currency_code, draft.booking_date, rate)
        await work.exchange_rates.observe(owner, new)


async def change_transaction(
    work: Work, before: Transaction, changes: TransactionChanges, *, action: str = "update"
) -> Transaction:
    """Write new descriptive fields of a locked transaction and add the change to the audit
    trail as `action`. Raises NotFound for a category or payee that is not the owner's,
    InvalidArgument if per-posting changes do not have one entry per posting,
    FailedPrecondition for a clearing status of a reconciled posting."""
    for field, values in (
        ("categories", changes.categories),
        ("memos", changes.memos),
        ("clearing statuses", changes.clearing_statuses),
    ):
        ledger_rules.check_posting_changes(before, None if values is None else len(values), field)
    if changes.clearing_statuses is not None:
        check_clearing_changes(before, changes.clearing_statuses)
    payee = changes.payee_id if changes.change_payee else None
    await check_references(work, UserKey(before.user_id), payee, list(changes.categories or ()))
    await work.transactions.change(before, changes)
    after = await work.transactions.get(before.key)
    await work.record(before.key, action, before=before, after=after)
    return after
