"""Domain objects -> protobuf messages."""

from datetime import datetime

from finance.v1 import account_service_pb2, user_service_pb2
from google.protobuf import timestamp_pb2

from service.api import names
from service.api.dates import to_proto_date
from service.api.money import to_money
from service.api.validation import format_etag
from service.domain.keys import UserKey
from service.domain.models import Account, AccountState, AccountType, User

ACCOUNT_TYPES = {
    AccountType.ASSET: account_service_pb2.Account.TYPE_ASSET,
    AccountType.LIABILITY: account_service_pb2.Account.TYPE_LIABILITY,
    AccountType.INCOME: account_service_pb2.Account.TYPE_INCOME,
    AccountType.EXPENSE: account_service_pb2.Account.TYPE_EXPENSE,
    AccountType.EQUITY: account_service_pb2.Account.TYPE_EQUITY,
}

ACCOUNT_STATES = {
    AccountState.ACTIVE: account_service_pb2.Account.STATE_ACTIVE,
    AccountState.ARCHIVED: account_service_pb2.Account.STATE_ARCHIVED,
}


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    """A datetime as a protobuf Timestamp."""
    result = timestamp_pb2.Timestamp()
    result.FromDatetime(value)
    return result


def user_to_proto(user: User) -> user_service_pb2.User:
    """The API form of a user."""
    return user_service_pb2.User(
        name=names.resource_name(UserKey(user.user_id)),
        display_name=user.display_name,
        email=user.email,
        create_time=timestamp(user.create_time),
        update_time=timestamp(user.update_time),
        etag=format_etag(user.revision),
    )


def account_to_proto(account: Account) -> account_service_pb2.Account:
    """The API form of an account."""
    message = account_service_pb2.Account(
        name=names.resource_name(account.key),
        display_name=account.display_name,
        type=ACCOUNT_TYPES[account.type],
        currency_code=account.currency_code,
        balance=to_money(account.balance, account.currency_code),
        opening_balance=to_money(account.opening_balance, account.currency_code),
        state=ACCOUNT_STATES[account.state],
        create_time=timestamp(account.create_time),
        update_time=timestamp(account.update_time),
        etag=format_etag(account.revision),
        available_balance=to_money(account.available_balance, account.currency_code),
        system_managed=account.system_managed,
    )
    if account.opening_date is not None:
        message.opening_date.CopyFrom(to_proto_date(account.opening_date))
    if account.credit_limit is not None:
        message.credit_limit.CopyFrom(to_money(account.credit_limit, account.currency_code))
    return message
