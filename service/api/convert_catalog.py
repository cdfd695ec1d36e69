"""Categories and payees -> protobuf messages, and their resource names both ways."""

from finance.v1 import category_service_pb2, payee_service_pb2

from service.api import names
from service.api.convert import timestamp
from service.api.validation import format_etag
from service.domain.categories import Category, CategoryKey, CategoryKind
from service.domain.payees import Payee, PayeeKey

CATEGORY_KINDS = {
    CategoryKind.INCOME: category_service_pb2.Category.KIND_INCOME,
    CategoryKind.EXPENSE: category_service_pb2.Category.KIND_EXPENSE,
}


def parse_category_name(name: str, field: str = "name") -> CategoryKey:
    """The key of a `users/{user}/categories/{category}` name; InvalidArgument if malformed."""
    return CategoryKey(*names.parse_user_child(name, "categories", field))


def parse_payee_name(name: str, field: str = "name") -> PayeeKey:
    """The key of a `users/{user}/payees/{payee}` name; InvalidArgument if malformed."""
    return PayeeKey(*names.parse_user_child(name, "payees", field))


def category_name(key: CategoryKey) -> str:
    """The resource name of a category."""
    return names.child_name(key.user_id, "categories", key.category_id)


def category_to_proto(category: Category) -> category_service_pb2.Category:
    """The API form of a category."""
    parent = category.parent_key
    return category_service_pb2.Category(
        name=category_name(category.key),
        display_name=category.display_name,
        kind=CATEGORY_KINDS[category.kind],
        parent="" if parent is None else category_name(parent),
        create_time=timestamp(category.create_time),
        update_time=timestamp(category.update_time),
        etag=format_etag(category.revision),
    )


def payee_to_proto(payee: Payee) -> payee_service_pb2.Payee:
    """The API form of a payee."""
    return payee_service_pb2.Payee(
        name=names.child_name(payee.user_id, "payees", payee.payee_id),
        display_name=payee.display_name,
        create_time=timestamp(payee.create_time),
        update_time=timestamp(payee.update_time),
        etag=format_etag(payee.revision),
    )
