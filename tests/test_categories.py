"""CategoryService over a real channel and a real database: resources and their hierarchy."""

import asyncio
import uuid

import grpc
from finance.v1 import category_service_pb2
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2

from tests.builders import EXPENSE, INCOME, create_category, create_user, record_expense
from tests.helpers import invalid_fields, rpc_error, unpack

C = category_service_pb2
Category = C.Category


def move(category: C.Category, under: str, etag: str = "") -> C.UpdateCategoryRequest:
    return C.UpdateCategoryRequest(
        category=C.Category(name=category.name, parent=under, etag=etag),
        update_mask=field_mask_pb2.FieldMask(paths=["parent"]),
    )


def rename(category: C.Category, display_name: str, etag: str = "") -> C.UpdateCategoryRequest:
    return C.UpdateCategoryRequest(
        category=C.Category(name=category.name, display_name=display_name, etag=etag),
        update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
    )


async def display_names(categories, parent: str, page_size: int = 100, **fields: str) -> list[str]:
    found: list[str] = []
    token = ""
    while True:
        page = await categories.ListCategories(
            C.ListCategoriesRequest(parent=parent, page_size=page_size, page_token=token, **fields)
        )
        assert len(page.categories) <= page_size
        found += [c.display_name for c in page.categories]
        token = page.next_page_token
        if not token:
            return found


class TestCreateCategory:
    async def test_creates_top_level_category(self, categories, user):
        category = await create_category(categories, user.name, " Food ")
        assert category.name.startswith(f"{user.name}/categories/")
        assert category.display_name == "Food"
        assert category.kind == EXPENSE
        assert category.parent == ""
        assert category.etag
        assert category.create_time.seconds > 0

    async def test_creates_sub_category_under_parent_of_same_kind(self, categories, user):
        food = await create_category(categories, user.name, "Food")
        groceries = await create_category(categories, user.name, "Groceries", under=food.name)
        assert groceries.parent == food.name
        got = await categories.GetCategory(C.GetCategoryRequest(name=groceries.name))
        assert got.parent == food.name

    async def test_retries_of_a_sub_category_create_it_once(self, categories, user):
        food = await create_category(categories, user.name, "Food")
        request = C.CreateCategoryRequest(
            parent=user.name,
            category=C.Category(display_name="Groceries", kind=EXPENSE, parent=food.name),
            request_id=str(uuid.uuid4()),
        )
        results = await asyncio.gather(*(categories.CreateCategory(request) for _ in range(4)))
        assert all(r == results[0] for r in results)
        assert await display_names(categories, user.name) == ["Food", "Groceries"]

    async def test_rejects_request_id_reused_with_another_kind(self, categories, user):
        request_id = str(uuid.uuid4())
        first = C.CreateCategoryRequest(
            parent=user.name,
            category=C.Category(display_name="Salary", kind=INCOME),
            request_id=request_id,
        )
        await categories.CreateCategory(first)
        first.category.kind = EXPENSE
        violations = await invalid_fields(categories.CreateCategory(first))
        assert list(violations) == ["request_id"]

    async def test_rejects_missing_category_unknown_kind_and_long_name(self, categories, user):
        missing = await invalid_fields(
            categories.CreateCategory(C.CreateCategoryRequest(parent=user.name))
        )
        assert set(missing) == {"category", "category.display_name", "category.kind"}
        bad = await invalid_fields(create_category(categories, user.name, "x" * 201, kind=42))
        assert set(bad) == {"category.display_name", "category.kind"}

    async def test_missing_parent_category_is_not_found(self, categories, user):
        missing = f"{user.name}/categories/missing"
        error = await rpc_error(
            create_category(categories, user.name, under=missing), grpc.StatusCode.NOT_FOUND
        )
        info = unpack(error, error_details_pb2.ResourceInfo)
        assert (info.resource_type, info.resource_name) == ("finance-tracker/Category", missing)

    async def test_another_users_parent_is_not_found_like_a_missing_one(
        self, categories, users, user
    ):
        eve = await create_user(users, "Eve")
        eves = await create_category(categories, eve.name, "Eve's food", kind=INCOME)
        error = await rpc_error(
            create_category(categories, user.name, under=eves.name), grpc.StatusCode.NOT_FOUND
        )
        assert unpack(error, error_details_pb2.ResourceInfo).resource_name == eves.name
        # Neither its kind (INCOME, not this category's EXPENSE) nor its existence shows.
        assert error.details() == f"Category {eves.name!r} not found"
        assert await display_names(categories, user.name) == []

    async def test_rejects_parent_of_another_kind(self, categories, user):
        salary = await create_category(categories, user.name, "Salary", kind=INCOME)
        violations = await invalid_fields(
            create_category(categories, user.name, "Food", kind=EXPENSE, under=salary.name)
        )
        assert violations == {
            "category.parent": f"{salary.name} is for income; the parent must be expense"
        }
        assert await display_names(categories, user.name) == ["Salary"]


class TestGetCategory:
    async def test_returns_the_category(self, categories, user):
        category = await create_category(categories, user.name)
        assert await categories.GetCategory(C.GetCategoryRequest(name=category.name)) == category

    async def test_rejects_malformed_name(self, categories, user):
        violations = await invalid_fields(
            categories.GetCategory(C.GetCategoryRequest(name=f"{user.name}/payees/x"))
        )
        assert set(violations) == {"name"}


class TestListCategories:
    async def test_filters_by_kind(self, categories, user):
        await create_category(categories, user.name, "Salary", kind=INCOME)
        await create_category(categories, user.name, "Food", kind=EXPENSE)
        await create_category(categories, user.name, "Interest", kind=INCOME)
        listed = await display_names(
            categories, user.name, page_size=1, filter="kind = KIND_INCOME"
        )
        assert listed == ["Salary", "Interest"]

    async def test_filters_by_parent(self, categories, user):
        food = await create_category(categories, user.name, "Food")
        await create_category(categories, user.name, "Groceries", under=food.name)
        await create_category(categories, user.name, "Restaurants", under=food.name)
        await create_category(categories, user.name, "Rent")
        assert await display_names(categories, user.name, filter=f'parent = "{food.name}"') == [
            "Groceries",
            "Restaurants",
        ]
        assert await display_names(categories, user.name, filter='parent = ""') == ["Food", "Rent"]
        assert await display_names(categories, user.name, filter=f'parent != "{food.name}"') == [
            "Food",
            "Rent",
        ]

    async def test_filters_by_display_name_and_orders(self, categories, user):
        for display_name in ("Car fuel", "Car insurance", "Books"):
            await create_category(categories, user.name, display_name)
        listed = await display_names(
            categories,
            user.name,
            page_size=1,
            filter='display_name:"car"',
            order_by="display_name desc",
        )
        assert listed == ["Car insurance", "Car fuel"]

    async def test_rejects_ordering_by_parent_or_kind(self, categories, user):
        for order_by in ("parent", "kind", "display_name, parent desc"):
            violations = await invalid_fields(
                categories.ListCategories(
                    C.ListCategoriesRequest(parent=user.name, order_by=order_by)
                )
            )
            assert set(violations) == {"order_by"}, order_by

    async def test_rejects_malformed_filter_and_page_size_together(self, categories, user):
        violations = await invalid_fields(
            categories.ListCategories(
                C.ListCategoriesRequest(parent=user.name, filter="kind =", page_size=-1)
            )
        )
        assert set(violations) == {"filter", "page_size"}

    async def test_rejects_unknown_kind_in_filter(self, categories, user):
        violations = await invalid_fields(
            categories.ListCategories(
                C.ListCategoriesRequest(parent=user.name, filter="kind = KIND_ASSET")
            )
        )
        assert set(violations) == {"filter"}
        assert "KIND_INCOME, KIND_EXPENSE" in violations["filter"]


class TestUpdateCategory:
    async def test_renames_with_current_etag(self, categories, user):
        category = await create_category(categories, user.name)
        updated = await categories.UpdateCategory(rename(category, "Eating", category.etag))
        assert updated.display_name == "Eating"
        assert updated.kind == category.kind
        assert updated.etag != category.etag

    async def test_moves_under_another_parent_and_back_to_top_level(self, categories, user):
        food = await create_category(categories, user.name, "Food")
        snacks = await create_category(categories, user.name, "Snacks")
        moved = await categories.UpdateCategory(move(snacks, food.name, snacks.etag))
        assert moved.parent == food.name
        assert moved.display_name == "Snacks"
        top = await categories.UpdateCategory(move(moved, ""))
        assert top.parent == ""

    async def test_rejects_parent_of_another_kind(self, categories, user):
        salary = await create_category(categories, user.name, "Salary", kind=INCOME)
        food = await create_category(categories, user.name, "Food")
        violations = await invalid_fields(categories.UpdateCategory(move(food, salary.name)))
        assert set(violations) == {"category.parent"}

    async def test_rejects_moves_that_make_a_cycle(self, categories, user):
        a = await create_category(categories, user.name, "A")
        b = await create_category(categories, user.name, "B", under=a.name)
        c = await create_category(categories, user.name, "C", under=b.name)
        for under in (c.name, b.name, a.name):
            violations = await invalid_fields(categories.UpdateCategory(move(a, under)))
            assert violations == {
                "category.parent": (
                    "would make the category its own ancestor; choose a category outside its"
                    " subtree"
                )
            }
        current = await categories.GetCategory(C.GetCategoryRequest(name=a.name))
        assert current == a

    async def test_concurrent_moves_never_close_a_cycle(self, categories, user):
        # A under C (C is under B) and B under D (D is under A) each pass a cycle check on
        # their own; together they would close the loop A > C > B > D > A.
        for _ in range(10):
            a = await create_category(categories, user.name, "A")
            b = await create_category(categories, user.name, "B")
            c = await create_category(categories, user.name, "C", under=b.name)
            d = await create_category(categories, user.name, "D", under=a.name)
            results = await asyncio.gather(
                categories.UpdateCategory(move(a, c.name)),
                categories.UpdateCategory(move(b, d.name)),
                return_exceptions=True,
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            assert len(failures) == 1, results
            assert isinstance(failures[0], grpc.aio.AioRpcError)
            assert failures[0].code() == grpc.StatusCode.INVALID_ARGUMENT

    async def test_another_users_parent_is_not_found(self, categories, users, user):
        eve = await create_user(users, "Eve")
        eves = await create_category(categories, eve.name, "Food")
        mine = await create_category(categories, user.name, "Food")
        error = await rpc_error(
            categories.UpdateCategory(move(mine, eves.name)), grpc.StatusCode.NOT_FOUND
        )
        assert unpack(error, error_details_pb2.ResourceInfo).resource_name == eves.name

    async def test_rejects_immutable_fields_in_mask(self, categories, user):
        category = await create_category(categories, user.name)
        violations = await invalid_fields(
            categories.UpdateCategory(
                C.UpdateCategoryRequest(
                    category=C.Category(name=category.name, kind=INCOME),
                    update_mask=field_mask_pb2.FieldMask(paths=["kind"]),
                )
            )
        )
        assert set(violations) == {"update_mask"}

    async def test_reports_every_invalid_field(self, categories):
        request = C.UpdateCategoryRequest(
            category=C.Category(name="categories/x", display_name="", parent="x", etag="1"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name", "parent"]),
        )
        violations = await invalid_fields(categories.UpdateCategory(request))
        assert set(violations) == {
            "category.name",
            "category.display_name",
            "category.parent",
            "category.etag",
        }

    async def test_requires_update_mask(self, categories, user):
        category = await create_category(categories, user.name)
        request = C.UpdateCategoryRequest(category=C.Category(name=category.name))
        violations = await invalid_fields(categories.UpdateCategory(request))
        assert set(violations) == {"update_mask"}


class TestDeleteCategory:
    async def test_deletes_a_category(self, categories, user):
        category = await create_category(categories, user.name)
        await categories.DeleteCategory(
            C.DeleteCategoryRequest(name=category.name, etag=category.etag)
        )
        await rpc_error(
            categories.GetCategory(C.GetCategoryRequest(name=category.name)),
            grpc.StatusCode.NOT_FOUND,
        )

    async def test_refuses_a_category_with_sub_categories(self, categories, user):
        food = await create_category(categories, user.name, "Food")
        groceries = await create_category(categories, user.name, "Groceries", under=food.name)
        error = await rpc_error(
            categories.DeleteCategory(C.DeleteCategoryRequest(name=food.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
        assert (violation.type, violation.subject) == ("CATEGORY_HAS_SUBCATEGORIES", food.name)
        await categories.DeleteCategory(C.DeleteCategoryRequest(name=groceries.name))
        await categories.DeleteCategory(C.DeleteCategoryRequest(name=food.name))
        assert await display_names(categories, user.name) == []

    async def test_refuses_a_category_postings_refer_to(
        self, categories, accounts, transactions, user
    ):
        food = await create_category(categories, user.name)
        await record_expense(accounts, transactions, user.name, category=food.name)
        error = await rpc_error(
            categories.DeleteCategory(C.DeleteCategoryRequest(name=food.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
        assert (violation.type, violation.subject) == ("CATEGORY_IN_USE", food.name)
        assert await categories.GetCategory(C.GetCategoryRequest(name=food.name)) == food

    async def test_reports_bad_name_and_etag_together(self, categories):
        violations = await invalid_fields(
            categories.DeleteCategory(C.DeleteCategoryRequest(name="users/x", etag="1"))
        )
        assert set(violations) == {"name", "etag"}
