"""RuleService: each RPC parses its request, calls the rule service once and converts the
result."""

from typing import Any

import grpc
from finance.v1 import rule_service_pb2 as pb
from finance.v1 import rule_service_pb2_grpc
from google.protobuf import empty_pb2

from service.api import names, pagination, rule_requests
from service.api.callers import caller
from service.api.convert_rules import proposal_to_proto, rule_to_proto
from service.api.page_tokens import PageTokens
from service.api.transaction_servicer import TRANSACTION_REFERENCES
from service.api.validation import name_and_etag
from service.services.rules import RuleService

Context = grpc.aio.ServicerContext[Any, Any]


class RuleServicer(rule_service_pb2_grpc.RuleServiceServicer):
    """The finance.v1.RuleService API over the rule service."""

    def __init__(self, rules: RuleService, *, page_tokens: PageTokens) -> None:
        self._rules = rules
        self._page_tokens = page_tokens

    async def CreateRule(self, request: pb.CreateRuleRequest, context: Context) -> pb.Rule:
        create = rule_requests.parse_create(request)
        rule = await self._rules.create(
            create.owner,
            create.new,
            caller=caller(context.invocation_metadata(), create.request_id),
        )
        return rule_to_proto(rule)

    async def GetRule(self, request: pb.GetRuleRequest, context: Context) -> pb.Rule:
        return rule_to_proto(
            await self._rules.get(
                names.parse_rule_name(request.name), caller=caller(context.invocation_metadata())
            )
        )

    async def ListRules(
        self, request: pb.ListRulesRequest, context: Context
    ) -> pb.ListRulesResponse:
        owner = names.parse_user_name(request.parent, "parent")
        paging = pagination.Paging(request, self._page_tokens, scope=request.parent)
        page = await self._rules.list(
            owner, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, rule_to_proto)
        return pb.ListRulesResponse(rules=items, next_page_token=token)

    async def UpdateRule(self, request: pb.UpdateRuleRequest, context: Context) -> pb.Rule:
        update = rule_requests.parse_update(request)
        rule = await self._rules.update(
            update.key,
            update.changes,
            expected_revision=update.expected_revision,
            caller=caller(context.invocation_metadata()),
        )
        return rule_to_proto(rule)

    async def DeleteRule(self, request: pb.DeleteRuleRequest, context: Context) -> empty_pb2.Empty:
        key, revision = name_and_etag(names.parse_rule_name, request.name, request.etag)
        await self._rules.delete(
            key, expected_revision=revision, caller=caller(context.invocation_metadata())
        )
        return empty_pb2.Empty()

    async def TestRule(self, request: pb.TestRuleRequest, context: Context) -> pb.TestRuleResponse:
        key = names.parse_rule_name(request.name)
        paging = pagination.Paging(
            request, self._page_tokens, scope=request.name, references=TRANSACTION_REFERENCES
        )
        page = await self._rules.test(
            key, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, proposal_to_proto)
        return pb.TestRuleResponse(changes=items, next_page_token=token)

    async def ApplyRules(
        self, request: pb.ApplyRulesRequest, context: Context
    ) -> pb.ApplyRulesResponse:
        owner = names.parse_user_name(request.parent, "parent")
        selection = pagination.list_query(
            self._page_tokens,
            page_size=0,
            page_token="",
            filter_text=request.filter,
            order_by="",
            references=TRANSACTION_REFERENCES,
        ).filter
        applied = await self._rules.apply(
            owner, selection, caller=caller(context.invocation_metadata())
        )
        return pb.ApplyRulesResponse(
            examined_count=applied.examined,
            changed_count=applied.changed,
            changed_transactions=[names.resource_name(k) for k in applied.changed_keys],
        )
