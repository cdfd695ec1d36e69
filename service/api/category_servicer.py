"""CategoryService: each RPC parses its request, calls the category service once and converts
the result."""

from typing import Any

import grpc
from finance.v1 import category_service_pb2, category_service_pb2_grpc
from google.protobuf import empty_pb2

from service.api import category_requests, names, pagination
from service.api.callers import caller
from service.api.convert_catalog import category_to_proto
from service.api.page_tokens import PageTokens
from service.api.validation import name_and_etag
from service.services.catalog import CategoryService

Context = grpc.aio.ServicerContext[Any, Any]


class CategoryServicer(category_service_pb2_grpc.CategoryServiceServicer):
    """The finance.v1.CategoryService API over the category service."""

    def __init__(self, categories: CategoryService, *, page_tokens: PageTokens) -> None:
        self._categories = categories
        self._page_tokens = page_tokens

    async def CreateCategory(
        self, request: category_service_pb2.CreateCategoryRequest, context: Context
    ) -> category_service_pb2.Category:
        create = category_requests.parse_create(request)
        category = await self._categories.create(
            create.owner,
            create.new,
            caller=caller(context.invocation_metadata(), create.request_id),
        )
        return category_to_proto(category)

    async def GetCategory(
        self, request: category_service_pb2.GetCategoryRequest, context: Context
    ) -> category_service_pb2.Category:
        return category_to_proto(
            await self._categories.get(
                names.parse_category_name(request.name),
                caller=caller(context.invocation_metadata()),
            )
        )

    async def ListCategories(
        self, request: category_service_pb2.ListCategoriesRequest, context: Context
    ) -> category_service_pb2.ListCategoriesResponse:
        owner = names.parse_user_name(request.parent, "parent")
        paging = pagination.Paging(
            request, self._page_tokens, scope=request.parent, references={"parent": "categories"}
        )
        page = await self._categories.list(
            owner, paging.query, caller=caller(context.invocation_metadata())
        )
        items, token = paging.fit(page, category_to_proto)
        return category_service_pb2.ListCategoriesResponse(categories=items, next_page_token=token)

    async def UpdateCategory(
        self, request: category_service_pb2.UpdateCategoryRequest, context: Context
    ) -> category_service_pb2.Category:
        update = category_requests.parse_update(request)
        category = await self._categories.update(
            update.key,
            update.changes,
            expected_revision=update.expected_revision,
            caller=caller(context.invocation_metadata()),
        )
        return category_to_proto(category)

    async def DeleteCategory(
        self, request: category_service_pb2.DeleteCategoryRequest, context: Context
    ) -> empty_pb2.Empty:
        key, revision = name_and_etag(names.parse_category_name, request.name, request.etag)
        await self._categories.delete(
            key, expected_revision=revision, caller=caller(context.invocation_metadata())
        )
        return empty_pb2.Empty()
