"""Reading the audit trail."""

from service.db.unit_of_work import UnitOfWork, Work
from service.domain.audit import AuditEvent, Caller
from service.domain.keys import UserKey
from service.domain.listing import ListQuery, Page
from service.services.owners import owned_page


class AuditService:
    """Use cases of the audit trail."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def list(self, owner: UserKey, query: ListQuery, *, caller: Caller) -> Page[AuditEvent]:
        """One page of the owner's audit events, oldest first. Raises NotFound for an unknown
        owner."""

        async def work(w: Work) -> Page[AuditEvent]:
            return await owned_page(w, owner, await w.audit.list_owned(owner, query))

        return await self._uow.read(work, caller=caller, user=owner)
