"""The ledger: records, settles, reverses and describes transactions, exactly once per
request_id, keeping every balance equal to the sum of its postings."""

import uuid
from dataclasses import replace
from datetime import date

from service.db.unit_of_work import UnitOfWork, Work
from service.domain import ledger_rules, rules
from service.domain.audit import SYSTEM_CALLER, Caller
from service.domain.errors import NotFound
from service.domain.keys import TransactionKey, UserKey, owner_of
from service.domain.ledger import (
    Transaction,
    TransactionChanges,
    TransactionDraft,
    TransactionState,
    check_balanced,
)
from service.domain.listing import ListQuery, Page
from service.domain.revisions import check_revision
from service.repositories.balances import Discrepancy
from service.services.bookkeeping import change_transaction, record_transaction
from service.services.owners import owned_page

# What a check of the whole ledger found not to add up.
Discrepancies = list[Discrepancy]


class LedgerService:
    """Use cases of transactions."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def record(
        self,
        owner: UserKey,
        draft: TransactionDraft,
        *,
        caller: Caller,
        apply_rules: bool = False,
    ) -> Transaction:
        """Record a transaction, filed by the owner's rules first if `apply_rules`. Raises
        InvalidArgument (unbalanced, wrong currency), NotFound (unknown user, account,
        category or payee) or FailedPrecondition (archived account, credit limit, a rule's
        pattern too slow)."""
        check_balanced(draft.postings)
        key = TransactionKey(owner.user_id, str(uuid.uuid4()))
        # A request without rules hashes as it always has.
        request = (draft, "apply_rules") if apply_rules else draft

        async def work(w: Work) -> Transaction:
            earlier = await _claim(w, owner, "create", request, result_id=key.transaction_id)
            if earlier is not None:
                return await w.transactions.get(TransactionKey(owner.user_id, earlier))
            if not await w.users.exists(owner):
                raise NotFound(owner)
            filed = await _filed(w, owner, draft) if apply_rules else draft
            return await record_transaction(w, key, filed)

        return await self._uow.run(work, caller=caller, user=owner)

    async def get(self, key: TransactionKey, *, caller: Caller) -> Transaction:
        """The transaction of `key`. Raises NotFound."""
        return await self._uow.read(
            lambda w: w.transactions.get(key), caller=caller, user=owner_of(key)
        )

    async def list(self, owner: UserKey, query: ListQuery, *, caller: Caller) -> Page[Transaction]:
        """One page of the owner's transactions. Raises NotFound for an unknown owner."""

        async def work(w: Work) -> Page[Transaction]:
            return await owned_page(w, owner, await w.transactions.list_owned(owner, query))

        return await self._uow.read(work, caller=caller, user=owner)

    async def post(
        self, key: TransactionKey, *, expected_revision: int | None, caller: Caller
    ) -> Transaction:
        """Post a pending transaction. Raises NotFound, EtagMismatch or FailedPrecondition."""
        return await self._settle(key, expected_revision, caller, post=True)

    async def void(
        self, key: TransactionKey, *, expected_revision: int | None, caller: Caller
    ) -> Transaction:
        """Void a pending transaction. Raises NotFound, EtagMismatch or FailedPrecondition."""
        return await self._settle(key, expected_revision, caller, post=False)

    async def _settle(
        self, key: TransactionKey, expected_revision: int | None, caller: Caller, *, post: bool
    ) -> Transaction:
        method = "post" if post else "void"
        owner = UserKey(key.user_id)

        async def work(w: Work) -> Transaction:
            request = (key, expected_revision)
            earlier = await _claim(w, owner, method, request, result_id=key.transaction_id)
            before = await w.transactions.get(key, lock=True)
            if earlier is not None:
                return before
            ledger_rules.check_settleable(before, expected_revision)
            changes = ledger_rules.settlement_changes(before, post=post)
            await w.accounts.lock_for_ledger(owner, set(changes))
            await w.accounts.change_balances(owner, changes)
            state = TransactionState.POSTED if post else TransactionState.VOIDED
            after = await w.transactions.set_state(before, state)
            await w.record(key, method, before=before, after=after)
            return after

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def reverse(
        self, key: TransactionKey, *, booking_date: date | None, reason: str, caller: Caller
    ) -> Transaction:
        """Reverse a posted transaction with a linked one of opposite amounts; returns the
        reversal. Raises NotFound, or FailedPrecondition (not posted, already reversed, a
        reversal itself, or a credit limit the reversal would break)."""
        owner = UserKey(key.user_id)
        reversal_key = TransactionKey(key.user_id, str(uuid.uuid4()))

        async def work(w: Work) -> Transaction:
            request = (key, booking_date, reason)
            earlier = await _claim(
                w, owner, "reverse", request, result_id=reversal_key.transaction_id
            )
            if earlier is not None:
                return await w.transactions.get(TransactionKey(key.user_id, earlier))
            original = await w.transactions.get(key, lock=True)
            ledger_rules.check_reversible(original)
            draft = ledger_rules.reversal_draft(original, booking_date=booking_date, reason=reason)
            reversal = await record_transaction(
                w, reversal_key, draft, reverses_id=key.transaction_id
            )
            after = replace(original, reversed_by_id=reversal_key.transaction_id)
            await w.record(key, "reverse", before=original, after=after)
            return reversal

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def update(
        self,
        key: TransactionKey,
        changes: TransactionChanges,
        *,
        expected_revision: int | None,
        caller: Caller,
    ) -> Transaction:
        """Change the descriptive fields and clearing statuses of a transaction. Raises
        NotFound (the transaction, or a category or payee it is given), EtagMismatch,
        InvalidArgument if per-posting changes do not have one entry per posting or set one
        reconciled, FailedPrecondition for changing the status of a reconciled posting."""
        owner = UserKey(key.user_id)

        async def work(w: Work) -> Transaction:
            request = (key, changes, expected_revision)
            earlier = await _claim(w, owner, "update", request, result_id=key.transaction_id)
            before = await w.transactions.get(key, lock=True)
            if earlier is not None:
                return before
            check_revision(key, before.revision, expected_revision)
            return await change_transaction(w, before, changes)

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def verify(self) -> "Discrepancies":
        """Recompute every balance from the postings, in one snapshot; returns what does not
        add up (nothing, in a healthy ledger)."""

        async def work(w: Work) -> Discrepancies:
            return await w.balances.verify()

        return await self._uow.run(
            work,
            caller=SYSTEM_CALLER,
            user=None,
            need=None,
            isolation="repeatable_read",
            readonly=True,
        )


async def _filed(w: Work, owner: UserKey, draft: TransactionDraft) -> TransactionDraft:
    """The draft as the owner's rules file it."""
    in_order = await w.rules.in_order(owner)
    kinds = await w.categories.kinds(owner, (r.actions.category_id for r in in_order))
    return rules.apply_to_draft(in_order, draft, kinds)


async def _claim(
    work: Work, owner: UserKey, method: str, request: object, *, result_id: str
) -> str | None:
    """`work.claim` for a ledger call; its method is part of what the request hashes to, as
    it has been since the ledger's first claims."""
    return await work.claim(owner, method, method, request, result_id=result_id)
