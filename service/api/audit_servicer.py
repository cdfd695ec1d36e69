"""AuditService: reading the audit trail."""

from typing import Any

import grpc
from finance.v1 import audit_service_pb2 as pb
from finance.v1 import audit_service_pb2_grpc

from service.api import names, pagination
from service.api.callers import caller
from service.api.convert_ledger import audit_event_to_proto
from service.api.page_tokens import PageTokens
from service.services.audit import AuditService

Context = grpc.aio.ServicerContext[Any, Any]


class AuditServicer(audit_service_pb2_grpc.AuditServiceServicer):
    """The finance.v1.AuditService API over the audit service."""

    def __init__(self, audit: AuditService, *, page_tokens: PageTokens) -> None:
        self._audit = audit
        self._page_tokens = page_tokens

    async def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, context: Context
    ) -> pb.ListAuditEventsResponse:
        owner = names.parse_user_name(request.parent, "parent")
        paging = pagination.Paging(
            request, self._page_tokens, scope=request.parent, references={"resource": "*"}
        )
        page = await self._audit.list(
            owner, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, audit_event_to_proto)
        return pb.ListAuditEventsResponse(audit_events=items, next_page_token=token)
