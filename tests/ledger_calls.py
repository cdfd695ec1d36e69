"""Recording a real transaction through the service, to make records refer to others."""

import grpc
from finance.v1 import account_service_pb2 as apb
from finance.v1 import account_service_pb2_grpc, transaction_service_pb2_grpc
from finance.v1 import transaction_service_pb2 as tpb
from google.type import date_pb2, money_pb2


async def record_expense(
    channel: grpc.aio.Channel, parent: str, *, category: str = "", payee: str = ""
) -> tpb.Transaction:
    """Open an account for user `parent` and record a 1 EUR expense from it under `category`
    and `payee` (resource names, either may be empty)."""
    account = await account_service_pb2_grpc.AccountServiceStub(channel).CreateAccount(
        apb.CreateAccountRequest(
            parent=parent,
            account=apb.Account(
                display_name="Checking", type=apb.Account.TYPE_ASSET, currency_code="EUR"
            ),
        )
    )
    transaction: tpb.Transaction = await transaction_service_pb2_grpc.TransactionServiceStub(
        channel
    ).RecordExpense(
        tpb.RecordExpenseRequest(
            parent=parent,
            account=account.name,
            amount=money_pb2.Money(currency_code="EUR", units=1),
            category=category,
            payee=payee,
            booking_date=date_pb2.Date(year=2024, month=1, day=31),
        )
    )
    return transaction
