"""Rules: keeping them, trying one on existing transactions, and applying them all."""

import functools
import uuid
from dataclasses import replace

from service.db.unit_of_work import UnitOfWork, Work
from service.domain import rules as rule_logic
from service.domain.audit import Caller
from service.domain.filter_syntax import Expression
from service.domain.keys import RuleKey, TransactionKey, UserKey, owner_of
from service.domain.listing import Cursor, ListQuery, Page
from service.domain.revisions import check_revision
from service.domain.rule_models import Applied, NewRule, Proposal, Rule, RuleChanges
from service.services.bookkeeping import change_transaction
from service.services.owners import owned_page

# Transactions read (and changed) per database transaction: bounds how long ApplyRules holds
# locks and how much one batch costs when a deadline ends it.
BATCH = 200
# The most transactions one TestRule call looks at before it answers with what it found.
MAX_EXAMINED = 5000


class RuleService:
    """Use cases of rules."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def create(self, owner: UserKey, new: NewRule, *, caller: Caller) -> Rule:
        """Create a rule; a retry with the same request_id returns the rule first created.
        Raises NotFound for an unknown owner, payee, account or category."""
        key = RuleKey(owner.user_id, str(uuid.uuid4()))

        async def work(w: Work) -> Rule:
            earlier = await w.claim(owner, "create_rule", owner, new, result_id=key.rule_id)
            if earlier is not None:
                return await w.rules.get(RuleKey(owner.user_id, earlier))
            rule = await w.rules.insert(key, new)
            await w.record(key, "create", before=None, after=rule)
            return rule

        return await self._uow.run(work, caller=caller, user=owner)

    async def get(self, key: RuleKey, *, caller: Caller) -> Rule:
        """The rule of `key`. Raises NotFound."""
        return await self._uow.read(lambda w: w.rules.get(key), caller=caller, user=owner_of(key))

    async def list(self, owner: UserKey, query: ListQuery, *, caller: Caller) -> Page[Rule]:
        """One page of the owner's rules. Raises NotFound for an unknown owner."""

        async def work(w: Work) -> Page[Rule]:
            return await owned_page(w, owner, await w.rules.list_owned(owner, query))

        return await self._uow.read(work, caller=caller, user=owner)

    async def update(
        self, key: RuleKey, changes: RuleChanges, *, expected_revision: int | None, caller: Caller
    ) -> Rule:
        """Change a rule. Raises NotFound (it, or a resource it would name) or EtagMismatch."""

        async def work(w: Work) -> Rule:
            rule = await w.rules.get(key, lock=True)
            check_revision(key, rule.revision, expected_revision)
            updated = await w.rules.change(key, changes)
            await w.record(key, "update", before=rule, after=updated)
            return updated

        return await self._uow.run(work, caller=caller, user=owner_of(key))

    async def delete(self, key: RuleKey, *, expected_revision: int | None, caller: Caller) -> None:
        """Delete a rule. Raises NotFound or EtagMismatch."""

        async def work(w: Work) -> None:
            rule = await w.rules.get(key, lock=True)
            check_revision(key, rule.revision, expected_revision)
            await w.rules.delete(key)
            await w.record(key, "delete", before=rule, after=None)

        await self._uow.run(work, caller=caller, user=owner_of(key))

    async def test(self, key: RuleKey, query: ListQuery, *, caller: Caller) -> Page[Proposal]:
        """What the rule alone would change in the owner's transactions that `query`
        selects: up to `query.page_size` proposals, from at most MAX_EXAMINED transactions;
        the page's cursor continues the search. Raises NotFound, or FailedPrecondition for a
        pattern that takes too long."""
        owner = owner_of(key)

        async def work(w: Work) -> Page[Proposal]:
            rule = await w.rules.get(key)
            found: list[Proposal] = []
            cursors: list[Cursor] = []
            after, examined = query.after, 0
            while examined < MAX_EXAMINED:
                batch = replace(query, page_size=BATCH, after=after)
                page = await w.transactions.list_owned(owner, batch)
                for transaction, cursor in zip(page.items, page.cursors, strict=True):
                    changes = rule_logic.changes_for([rule], transaction)
                    if changes is not None:
                        proposed = rule_logic.changed(transaction, changes)
                        fields = tuple(rule_logic.changed_fields(changes))
                        found.append(Proposal(proposed, fields))
                        cursors.append(cursor)
                        if len(found) == query.page_size:
                            return Page(found, cursor, tuple(cursors))
                examined += len(page.items)
                if page.next_cursor is None:
                    return Page(found, None, tuple(cursors))
                after = page.next_cursor
            return Page(found, after, tuple(cursors))

        return await self._uow.read(work, caller=caller, user=owner)

    async def apply(
        self, owner: UserKey, selection: Expression | None, *, caller: Caller
    ) -> Applied:
        """Apply the owner's rules, in order, to the transactions `selection` picks, in
        batches of BATCH (each its own database transaction), every change audited. Raises
        NotFound for an unknown owner, FailedPrecondition for a pattern that takes too long."""
        examined, changed_count = 0, 0
        reported: list[TransactionKey] = []
        after: Cursor | None = None
        while True:
            batch = functools.partial(
                _apply_batch, owner=owner, query=ListQuery(BATCH, filter=selection, after=after)
            )
            count, keys, after = await self._uow.run(batch, caller=caller, user=owner)
            examined += count
            changed_count += len(keys)
            reported.extend(keys[: rule_logic.MAX_REPORTED - len(reported)])
            if after is None:
                return Applied(examined, changed_count, tuple(reported))


async def _apply_batch(
    w: Work, *, owner: UserKey, query: ListQuery
) -> tuple[int, list[TransactionKey], Cursor | None]:
    """Apply the rules to one page of transactions: how many it held, the keys of those
    changed, and the cursor of the next page."""
    page = await owned_page(w, owner, await w.transactions.list_owned(owner, query))
    rules = await w.rules.in_order(owner)
    changed: list[TransactionKey] = []
    for listed in page.items:
        if rule_logic.changes_for(rules, listed) is None:
            continue
        # Again under the lock: the transaction may have changed since the page was read.
        before = await w.transactions.get(listed.key, lock=True)
        changes = rule_logic.changes_for(rules, before)
        if changes is not None:
            await change_transaction(w, before, changes, action="apply_rules")
            changed.append(before.key)
    return len(page.items), changed, page.next_cursor
