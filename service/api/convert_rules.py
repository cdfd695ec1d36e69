"""Rules, and what a rule would change -> protobuf messages."""

from finance.v1 import rule_service_pb2 as pb

from service.api import names
from service.api.convert import timestamp
from service.api.convert_ledger import transaction_to_proto
from service.api.money import to_money
from service.api.validation import format_etag
from service.domain.rule_models import Proposal, Rule


def rule_to_proto(rule: Rule) -> pb.Rule:
    """The API form of a rule."""

    def child(collection: str, child_id: str | None) -> str:
        return "" if child_id is None else names.child_name(rule.user_id, collection, child_id)

    c, a = rule.conditions, rule.actions
    conditions = pb.RuleConditions(
        description_contains=c.description_contains or "",
        description_regex=c.description_regex or "",
        payee=child("payees", c.payee_id),
        account=child("accounts", c.account_id),
        external_id_contains=c.external_id_contains or "",
    )
    if c.amount is not None and c.amount.at_least is not None:
        conditions.amount_at_least.CopyFrom(to_money(c.amount.at_least, c.amount.currency_code))
    if c.amount is not None and c.amount.below is not None:
        conditions.amount_below.CopyFrom(to_money(c.amount.below, c.amount.currency_code))
    return pb.Rule(
        name=names.resource_name(rule.key),
        display_name=rule.display_name,
        priority=rule.priority,
        stop=rule.stop,
        conditions=conditions,
        actions=pb.RuleActions(
            set_category=child("categories", a.category_id),
            set_payee=child("payees", a.payee_id),
            add_tags=list(a.add_tags),
            set_description=a.description or "",
        ),
        create_time=timestamp(rule.create_time),
        update_time=timestamp(rule.update_time),
        etag=format_etag(rule.revision),
    )


def proposal_to_proto(proposal: Proposal) -> pb.RuleChange:
    """The API form of what a rule would do to one transaction."""
    return pb.RuleChange(
        transaction=names.resource_name(proposal.proposed.key),
        changed_fields=list(proposal.changed_fields),
        proposed=transaction_to_proto(proposal.proposed),
    )
