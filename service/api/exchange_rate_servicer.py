"""ExchangeRateService: each RPC parses its request, calls the exchange rate service once and
converts the result."""

from typing import Any

import grpc
from finance.v1 import exchange_rate_service_pb2 as pb
from finance.v1 import exchange_rate_service_pb2_grpc
from google.protobuf import empty_pb2

from service.api import exchange_rate_requests as requests
from service.api import names, pagination
from service.api.callers import caller
from service.api.exchange_rate_requests import exchange_rate_to_proto, found_rate_to_proto
from service.api.page_tokens import PageTokens
from service.api.validation import name_and_etag
from service.services.exchange_rates import ExchangeRateService

Context = grpc.aio.ServicerContext[Any, Any]


class ExchangeRateServicer(exchange_rate_service_pb2_grpc.ExchangeRateServiceServicer):
    """The finance.v1.ExchangeRateService API over the exchange rate service."""

    def __init__(self, rates: ExchangeRateService, *, page_tokens: PageTokens) -> None:
        self._rates = rates
        self._page_tokens = page_tokens

    async def CreateExchangeRate(
        self, request: pb.CreateExchangeRateRequest, context: Context
    ) -> pb.ExchangeRate:
        create = requests.parse_create(request)
        rate = await self._rates.create(
            create.owner,
            create.new,
            caller=caller(context.invocation_metadata(), create.request_id),
        )
        return exchange_rate_to_proto(rate)

    async def GetExchangeRate(
        self, request: pb.GetExchangeRateRequest, context: Context
    ) -> pb.ExchangeRate:
        key = names.parse_exchange_rate_name(request.name)
        rate = await self._rates.get(key, caller=caller(context.invocation_metadata()))
        return exchange_rate_to_proto(rate)

    async def ListExchangeRates(
        self, request: pb.ListExchangeRatesRequest, context: Context
    ) -> pb.ListExchangeRatesResponse:
        owner = names.parse_user_name(request.parent, "parent")
        paging = pagination.Paging(request, self._page_tokens, scope=request.parent)
        page = await self._rates.list(
            owner, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, exchange_rate_to_proto)
        return pb.ListExchangeRatesResponse(exchange_rates=items, next_page_token=token)

    async def UpdateExchangeRate(
        self, request: pb.UpdateExchangeRateRequest, context: Context
    ) -> pb.ExchangeRate:
        update = requests.parse_update(request)
        rate = await self._rates.update(
            update.key,
            update.rate,
            expected_revision=update.expected_revision,
            caller=caller(context.invocation_metadata()),
        )
        return exchange_rate_to_proto(rate)

    async def DeleteExchangeRate(
        self, request: pb.DeleteExchangeRateRequest, context: Context
    ) -> empty_pb2.Empty:
        key, revision = name_and_etag(names.parse_exchange_rate_name, request.name, request.etag)
        await self._rates.delete(
            key, expected_revision=revision, caller=caller(context.invocation_metadata())
        )
        return empty_pb2.Empty()

    async def LookupExchangeRate(
        self, request: pb.LookupExchangeRateRequest, context: Context
    ) -> pb.LookupExchangeRateResponse:
        lookup = requests.parse_lookup(request)
        found = await self._rates.lookup(
            lookup.owner,
            lookup.base,
            lookup.quote,
            lookup.day,
            caller=caller(context.invocation_metadata()),
        )
        return found_rate_to_proto(found)
