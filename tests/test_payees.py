"""PayeeService over a real channel and a real database."""

import grpc
from finance.v1 import payee_service_pb2, payee_service_pb2_grpc
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2

from tests.builders import create_payee, record_expense
from tests.helpers import invalid_fields, rpc_error, unpack

P = payee_service_pb2


async def list_all(
    payees: "payee_service_pb2_grpc.PayeeServiceAsyncStub",
    parent: str,
    page_size: int,
    **fields: str,
) -> list[P.Payee]:
    found: list[P.Payee] = []
    token = ""
    while True:
        page = await payees.ListPayees(
            P.ListPayeesRequest(parent=parent, page_size=page_size, page_token=token, **fields)
        )
        assert len(page.payees) <= page_size
        found += page.payees
        token = page.next_page_token
        if not token:
            return found


def rename(payee: P.Payee, display_name: str, etag: str = "") -> P.UpdatePayeeRequest:
    return P.UpdatePayeeRequest(
        payee=P.Payee(name=payee.name, display_name=display_name, etag=etag),
        update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
    )


class TestCreatePayee:
    async def test_creates_payee(self, payees, user):
        payee = await create_payee(payees, user.name, "  Corner Bakery ")
        assert payee.name.startswith(f"{user.name}/payees/")
        assert payee.display_name == "Corner Bakery"
        assert payee.etag
        assert payee.create_time.seconds > 0

    async def test_rejects_missing_payee_and_too_long_name(self, payees, user):
        missing = await invalid_fields(payees.CreatePayee(P.CreatePayeeRequest(parent=user.name)))
        assert set(missing) == {"payee", "payee.display_name"}
        too_long = await invalid_fields(create_payee(payees, user.name, "x" * 201))
        assert too_long == {"payee.display_name": "must be at most 200 characters"}


class TestGetPayee:
    async def test_returns_the_payee(self, payees, user):
        payee = await create_payee(payees, user.name)
        assert await payees.GetPayee(P.GetPayeeRequest(name=payee.name)) == payee

    async def test_rejects_malformed_name(self, payees, user):
        violations = await invalid_fields(
            payees.GetPayee(P.GetPayeeRequest(name=f"{user.name}/accounts/x"))
        )
        assert set(violations) == {"name"}


class TestListPayees:
    async def test_filters_and_orders(self, payees, user):
        for display_name in ("Corner Bakery", "Bakery Deluxe", "Hardware Store"):
            await create_payee(payees, user.name, display_name)
        listed = await list_all(
            payees,
            user.name,
            page_size=1,
            filter='display_name:"bakery"',
            order_by="display_name desc",
        )
        assert [p.display_name for p in listed] == ["Corner Bakery", "Bakery Deluxe"]

    async def test_filters_on_create_time(self, payees, user):
        first = await create_payee(payees, user.name, "First")
        await create_payee(payees, user.name, "Second")
        since = first.create_time.ToDatetime().isoformat() + "Z"
        listed = await payees.ListPayees(
            P.ListPayeesRequest(parent=user.name, filter=f'create_time > "{since}"')
        )
        assert [p.display_name for p in listed.payees] == ["Second"]

    async def test_empty_for_a_user_without_payees(self, payees, user):
        listed = await payees.ListPayees(P.ListPayeesRequest(parent=user.name))
        assert list(listed.payees) == []
        assert not listed.next_page_token

    async def test_rejects_unknown_filter_field_and_order(self, payees, user):
        violations = await invalid_fields(
            payees.ListPayees(
                P.ListPayeesRequest(parent=user.name, filter='kind = "x"', order_by="kind")
            )
        )
        assert set(violations) == {"filter"}
        violations = await invalid_fields(
            payees.ListPayees(P.ListPayeesRequest(parent=user.name, order_by="kind"))
        )
        assert set(violations) == {"order_by"}


class TestUpdatePayee:
    async def test_renames_payee(self, payees, user):
        payee = await create_payee(payees, user.name)
        updated = await payees.UpdatePayee(rename(payee, "Baker & Sons", payee.etag))
        assert updated.display_name == "Baker & Sons"
        assert updated.etag != payee.etag
        assert updated.create_time == payee.create_time
        assert await payees.GetPayee(P.GetPayeeRequest(name=payee.name)) == updated

    async def test_reports_every_invalid_field(self, payees):
        request = P.UpdatePayeeRequest(payee=P.Payee(name="payees/x", etag="abc"))
        violations = await invalid_fields(payees.UpdatePayee(request))
        assert set(violations) == {"payee.name", "update_mask", "payee.etag"}

    async def test_rejects_blank_name_and_unknown_mask_paths(self, payees, user):
        payee = await create_payee(payees, user.name)
        blank = await invalid_fields(payees.UpdatePayee(rename(payee, " ")))
        assert blank == {"payee.display_name": "is required"}
        unknown = await invalid_fields(
            payees.UpdatePayee(
                P.UpdatePayeeRequest(
                    payee=P.Payee(name=payee.name),
                    update_mask=field_mask_pb2.FieldMask(paths=["create_time"]),
                )
            )
        )
        assert set(unknown) == {"update_mask"}


class TestDeletePayee:
    async def test_deletes_payee(self, payees, user):
        payee = await create_payee(payees, user.name)
        await payees.DeletePayee(P.DeletePayeeRequest(name=payee.name, etag=payee.etag))
        await rpc_error(
            payees.GetPayee(P.GetPayeeRequest(name=payee.name)), grpc.StatusCode.NOT_FOUND
        )

    async def test_refuses_a_payee_transactions_refer_to(
        self, payees, accounts, transactions, user
    ):
        payee = await create_payee(payees, user.name)
        await record_expense(accounts, transactions, user.name, payee=payee.name)
        error = await rpc_error(
            payees.DeletePayee(P.DeletePayeeRequest(name=payee.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
        assert (violation.type, violation.subject) == ("PAYEE_IN_USE", payee.name)
        assert await payees.GetPayee(P.GetPayeeRequest(name=payee.name)) == payee

    async def test_rejects_malformed_name(self, payees):
        violations = await invalid_fields(
            payees.DeletePayee(P.DeletePayeeRequest(name="users/x", etag='"1"'))
        )
        assert set(violations) == {"name"}
