"""How the audit trail pictures a resource: as the API shows it, field for field."""

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from service.api.convert import account_to_proto, user_to_proto
from service.api.convert_budgets import budget_to_proto
from service.api.convert_catalog import category_to_proto, payee_to_proto
from service.api.convert_ledger import transaction_to_proto
from service.api.convert_recurring import recurring_to_proto
from service.api.convert_rules import rule_to_proto
from service.api.exchange_rate_requests import exchange_rate_to_proto
from service.api.member_requests import member_to_proto
from service.api.statement_requests import statement_to_proto
from service.domain.budgets import Budget
from service.domain.categories import Category
from service.domain.exchange_rates import ExchangeRate
from service.domain.ledger import Transaction
from service.domain.members import Member
from service.domain.models import Account, User
from service.domain.payees import Payee
from service.domain.recurring import RecurringTransaction
from service.domain.rule_models import Rule
from service.domain.statements import Statement


def present(resource: object) -> dict[str, Any]:
    """`resource` as its API message, as JSON-ready fields named as in the proto (amounts as
    google.type.Money, references as resource names)."""
    return json_format.MessageToDict(
        _message(resource),
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )


def _message(resource: object) -> Message:
    match resource:
        case User():
            return user_to_proto(resource)
        case Account():
            return account_to_proto(resource)
        case Category():
            return category_to_proto(resource)
        case Payee():
            return payee_to_proto(resource)
        case Transaction():
            return transaction_to_proto(resource)
        case Member():
            return member_to_proto(resource)
        case RecurringTransaction():
            return recurring_to_proto(resource)
        case ExchangeRate():
            return exchange_rate_to_proto(resource)
        case Rule():
            return rule_to_proto(resource)
        case Statement():
            return statement_to_proto(resource)
        case Budget():
            return budget_to_proto(resource)
    raise TypeError(f"no API form for {type(resource).__name__}")
