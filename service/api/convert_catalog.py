"""Categories and payees -> protobuf messages."""

from finance.v1 import category_service_pb2, payee_service_pb2

from service.api import names
from service.api.convert import timestamp
from service.api.validation import format_etag
from service.domain.categories import Category, CategoryKind
from service.domain.payees import Payee

CATEGORY_KINDS = {
    CategoryKind.INCOME: category_service_pb2.Category.KIND_INCOME,
    CategoryKind.EXPENSE: category_service_pb2.Category.KIND_EXPENSE,
}


def category_to_proto(category: Category) -> category_service_pb2.Category:
    """The API form of a category."""
    parent = category.parent_key
    return category_service_pb2.Category(
        name=names.resource_name(category.key),
        display_name=category.display_name,
        kind=CATEGORY_KINDS[category.kind],
        parent="" if parent is None else names.resource_name(parent),
        create_time=timestamp(category.create_time),
        update_time=timestamp(category.update_time),
        etag=format_etag(category.revision),
    )


def payee_to_proto(payee: Payee) -> payee_service_pb2.Payee:
    """The API form of a payee."""
    return payee_service_pb2.Payee(
        name=names.resource_name(payee.key),
        display_name=payee.display_name,
        create_time=timestamp(payee.create_time),
        update_time=timestamp(payee.update_time),
        etag=format_etag(payee.revision),
    )
