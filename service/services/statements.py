"""Reconciliation: an account checked against its statement, the statement kept for the
record, and its postings released again by un-reconciling it."""

import uuid
from dataclasses import replace

from service.db.unit_of_work import UnitOfWork, Work
from service.domain import statements as rules
from service.domain.audit import Caller
from service.domain.errors import NotFound
from service.domain.keys import AccountKey, StatementKey, UserKey, owner_of
from service.domain.ledger import Transaction
from service.domain.listing import ListQuery, Page
from service.domain.statements import Figures, Outcome, Reconciliation, Statement


class _NotReconciled(Exception):
    """Ends a reconciliation that writes nothing (a difference, or validate_only): the unit of
    work rolls back, its request_id claim too, and the figures go back to the caller."""

    def __init__(self, figures: Figures) -> None:
        super().__init__("not reconciled")
        self.figures = figures


class StatementService:
    """Use cases of reconciliation. Reconciling takes an editor; reading, a viewer."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def reconcile(self, reconciliation: Reconciliation, *, caller: Caller) -> Outcome:
        """Compare the statement's closing balance with the account's reconciled postings plus
        its cleared postings of posted transactions booked up to the statement date; when they
        are equal (and not only validating), mark those postings reconciled and keep the
        statement. A retry with the same request_id returns the statement first kept. Raises
        NotFound, InvalidArgument (another currency) or FailedPrecondition (not after the
        account's last statement)."""
        account = reconciliation.account
        owner = owner_of(account)
        key = StatementKey(account.user_id, account.account_id, str(uuid.uuid4()))

        async def work(w: Work) -> Outcome:
            earlier = await w.claim(
                owner, "reconcile_account", reconciliation, result_id=key.statement_id
            )
            if earlier is not None:
                kept = await w.statements.get(replace(key, statement_id=earlier))
                return Outcome(kept.figures, kept)
            cleared = await w.statements.cleared(account, reconciliation.statement_date)
            transaction_ids = {transaction_id for transaction_id, _, _ in cleared}
            # Transactions before accounts, as every ledger write locks them: an edit of a
            # cleared posting waits for this reconciliation, or makes it run again.
            await w.transactions.lock_many(owner, transaction_ids)
            locked = await w.accounts.lock_for_ledger(owner, {account.account_id})
            if account.account_id not in locked:
                raise NotFound(account)
            currency = locked[account.account_id].currency_code
            rules.check_currency(reconciliation, currency)
            latest = await w.statements.latest(account, lock=True)
            rules.check_after_latest(latest, reconciliation.statement_date)
            result = rules.figures(
                reconciliation,
                currency_code=currency,
                reconciled=await w.statements.reconciled_sum(account),
                cleared=[amount for _, _, amount in cleared],
            )
            if result.difference or reconciliation.validate_only:
                raise _NotReconciled(result)
            before = await w.transactions.get_many(owner, sorted(transaction_ids))
            statement = await w.statements.insert(key, result)
            await w.statements.reconcile(key, cleared)
            await _touch(w, owner, before, "reconcile")
            await w.record(key, "reconcile", before=None, after=statement)
            return Outcome(result, statement)

        try:
            # One snapshot for the sums and the postings marked: a change committed since it
            # was taken, to a row this locks, makes the whole work run again.
            return await self._uow.run(work, caller=caller, user=owner, isolation="repeatable_read")
        except _NotReconciled as unbalanced:
            return Outcome(unbalanced.figures, None)

    async def unreconcile(
        self, key: StatementKey, *, expected_revision: int | None, caller: Caller
    ) -> Statement:
        """Return the statement's postings to cleared and keep it, un-reconciled. Raises
        NotFound, EtagMismatch or FailedPrecondition (un-reconciled already, or not the
        account's last reconciled statement)."""
        owner = owner_of(key)

        async def work(w: Work) -> Statement:
            request = (key, expected_revision)
            earlier = await w.claim(
                owner, "unreconcile_statement", request, result_id=key.statement_id
            )
            if earlier is not None:
                return await w.statements.get(key)
            transaction_ids = await w.statements.transactions_of(key)
            await w.transactions.lock_many(owner, transaction_ids)
            await w.accounts.lock_for_ledger(owner, {key.account_id})
            latest = await w.statements.latest(key.account, lock=True)
            statement = await w.statements.get(key, lock=True)
            rules.check_unreconcilable(statement, latest, expected_revision)
            before = await w.transactions.get_many(owner, sorted(transaction_ids))
            after = await w.statements.release(key)
            await _touch(w, owner, before, "unreconcile")
            await w.record(key, "unreconcile", before=statement, after=after)
            return after

        return await self._uow.run(work, caller=caller, user=owner)

    async def get(self, key: StatementKey, *, caller: Caller) -> Statement:
        """The statement of `key`. Raises NotFound."""
        return await self._uow.read(
            lambda w: w.statements.get(key), caller=caller, user=owner_of(key)
        )

    async def list(
        self, account: AccountKey, query: ListQuery, *, caller: Caller
    ) -> Page[Statement]:
        """One page of the account's statements. Raises NotFound for an unknown account."""

        async def work(w: Work) -> Page[Statement]:
            page = await w.statements.list_of(account, query)
            if not page.items:
                await w.accounts.get(account)  # NotFound for an unknown account
            return page

        return await self._uow.read(work, caller=caller, user=owner_of(account))


async def _touch(w: Work, owner: UserKey, before: list[Transaction], action: str) -> None:
    """Give the transactions whose postings a statement (un)reconciled a new etag, and add
    each change to the audit trail."""
    ids = [t.transaction_id for t in before]
    await w.transactions.touch(owner, set(ids))
    for old, new in zip(before, await w.transactions.get_many(owner, ids), strict=True):
        await w.record(old.key, action, before=old, after=new)
