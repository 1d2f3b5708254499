"""L1 intake (SPEC §7 "Intake"): the tech describes the problem against a ticket, and the walk it
needs is found — a published flow (≥ 0.75 starts it, 0.60–0.75 suggests it), else the problem's
category: an allowed one starts an AI-built walk, anything else is out of scope (walk ad hoc, or
escalate). Classification runs on the fast tier with a keyword fallback over the account's own
categories, and never blocks intake. The tech can always pick a flow, walk ad hoc or force a build.
"""

import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from flywheel_app.models import Flow, FlowProposal
from flywheel_app.selectors import FlowMatch, flow_match
from l1_app import nodes, prompts
from l1_app.categories import CATEGORY_DOMAINS, UNKNOWN, classify_by_keywords
from l1_app.models import L1Category, Walk, WalkStep
from l1_app.services.categories import l1_categories_ensure
from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import audit_record
from resolutionflow.ai.client import ai_json
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import InvalidInput
from resolutionflow.psa.models import InternalTicket
from resolutionflow.psa.services import internal_ticket_create

logger = logging.getLogger(__name__)

START_THRESHOLD = 0.75  # a flow this good starts at once
SUGGEST_THRESHOLD = 0.60  # this good: suggested, one tap to accept
CLASSIFY_WITHIN = 8.0  # seconds: classification never holds the intake up longer; the keywords answer then


@dataclass(frozen=True)
class Dispatch:
    """Where an intake goes. `outcome`: "flow" (start `flow`), "suggest" (offer `flow`), "build"
    (an allowed `category`), "out_of_scope" (`category` is not allowed, or unknown)."""

    outcome: str
    flow: Flow | None = None
    score: float = 0.0
    category: str = UNKNOWN
    category_label: str = ""
    nearest: list[FlowMatch] = field(default_factory=list)


def walk_dispatch(*, user: User, problem: str, match_flows: bool = True) -> Dispatch:
    """Decide where the problem goes: the flows, then one fast-tier call when none fits. (Its one
    write: an account with no categories gets the ten defaults first.)"""
    categories = _categories(user.account)
    keyword_key = classify_by_keywords(problem, categories)
    matches = flow_match(account=user.account_id, text=problem, domain=CATEGORY_DOMAINS.get(keyword_key, ""))
    if match_flows and matches:
        best = matches[0]
        if best.score >= START_THRESHOLD:
            return Dispatch("flow", flow=best.flow, score=best.score, nearest=matches)
        if best.score >= SUGGEST_THRESHOLD:
            return Dispatch("suggest", flow=best.flow, score=best.score, nearest=matches)
    key = walk_classify(user=user, problem=problem, categories=categories, fallback=keyword_key)
    row = next((c for c in categories if c["key"] == key), None)
    label = row["label"] if row else ""
    outcome = "build" if row and row["allowed"] else "out_of_scope"
    return Dispatch(outcome, category=key, category_label=label, nearest=matches)


def _categories(account) -> list[dict]:
    l1_categories_ensure(account=account)
    return list(L1Category.objects.filter(account=account).values("key", "label", "keywords", "allowed"))


def walk_classify(*, user: User, problem: str, categories: list[dict], fallback: str | None = None) -> str:
    """One of the account's category keys, or "unknown". The fast model first; when it fails, the
    keywords of the account's own categories. Never raises."""
    keys = {c["key"] for c in categories}
    try:
        result = ai_json(
            action="l1_classify",
            system=prompts.CLASSIFY_SYSTEM,
            messages=[
                {
                    "role": "user",
                    "content": prompts.classify_message(
                        problem, [{"key": c["key"], "label": c["label"]} for c in categories]
                    ),
                }
            ],
            schema=prompts.CLASSIFY_SCHEMA,
            account=user.account,
            user=user,
            max_tokens=40,
            within=CLASSIFY_WITHIN,
        )
    except AIError as exc:
        logger.info("L1 classification fell back to keywords: %s", exc.kind)
        return fallback if fallback is not None else classify_by_keywords(problem, categories)
    key = str(result.get("category", "")).strip()
    return key if key in keys else UNKNOWN


@transaction.atomic
def walk_start(
    *,
    user: User,
    kind: str,
    problem: str,
    category: str = "",
    flow: Flow | None = None,
    proposal: FlowProposal | None = None,
    internal_ticket: InternalTicket | None = None,
    new_internal_ticket: bool = False,
    psa_ticket_ref: str = "",
    customer_name: str = "",
    customer_contact: str = "",
    intake_key: str = "",
) -> Walk:
    """Save the walk (and its first node, for a flow or a proposal). An AI-built walk's first node
    is built afterwards (`builder.walk_build_next`), so an AI failure leaves a walk to retry from.
    The same `intake_key` twice (a form sent again) answers the walk it started, and starts nothing."""
    problem = (problem or "").strip()
    if not problem:
        raise InvalidInput("Describe the problem first.")
    if kind not in Walk.Kind.values:
        raise InvalidInput("Choose how to walk this problem.")
    for thing in (flow, proposal, internal_ticket):
        if thing is not None and thing.account_id != user.account_id:
            raise InvalidInput("That is not in your account.")
    if kind == Walk.Kind.FLOW and (flow is None or not flow.published):
        raise InvalidInput("Choose a published flow.")
    if kind == Walk.Kind.PROPOSAL and (proposal is None or proposal.status not in _WALKABLE_PROPOSALS):
        raise InvalidInput("Choose an approved flow proposal.")
    intake_key = (intake_key or "").strip()[:40]
    if intake_key:
        again = Walk.objects.filter(account_id=user.account_id, tech=user, intake_key=intake_key).first()
        if again is not None:
            return again
    try:
        with transaction.atomic():
            walk = _saved(user, kind, problem, category, flow, proposal, internal_ticket, new_internal_ticket,
                          psa_ticket_ref, customer_name, customer_contact, intake_key)  # fmt: skip
    except IntegrityError:
        # The same form, sent twice at once: the other request started the walk.
        return Walk.objects.get(account_id=user.account_id, tech=user, intake_key=intake_key)
    audit_record(
        account=user.account,
        actor=user,
        acting_as=walk.acting_as,
        action="l1_walk.start",
        obj=walk,
        details={"kind": kind, "category": walk.category, "flow": walk.flow_id, "proposal": walk.proposal_id},
    )
    return walk


def _saved(user, kind, problem, category, flow, proposal, internal_ticket, new_internal_ticket, psa_ticket_ref,
           customer_name, customer_contact, intake_key) -> Walk:  # fmt: skip
    if new_internal_ticket and internal_ticket is None and not psa_ticket_ref.strip():
        first_line = " ".join(problem.splitlines()[0].split())[:200]
        internal_ticket = internal_ticket_create(
            account=user.account, title=first_line, description=problem, actor=user
        )
    walk = Walk(
        account_id=user.account_id,
        tech=user,
        acting_as=user.l1_acting_as,
        kind=kind,
        problem=problem,
        category=category if kind == Walk.Kind.AI_BUILT else "",
        flow=flow if kind == Walk.Kind.FLOW else None,
        proposal=proposal if kind == Walk.Kind.PROPOSAL else None,
        internal_ticket=internal_ticket,
        psa_ticket_ref="" if internal_ticket else psa_ticket_ref.strip(),
        customer_name=customer_name.strip(),
        customer_contact=customer_contact.strip(),
        intake_key=intake_key,
    )
    walk.tree = walk.flow.tree if walk.flow else walk.proposal.tree if walk.proposal else None
    walk.full_clean(validate_constraints=False)  # the database holds one walk per intake (IntegrityError)
    walk.save()
    tree = walk.tree
    if tree is not None:
        first = nodes.from_tree(tree, tree.get("start"))
        if first is None:
            raise InvalidInput("That flow has no start node.")
        WalkStep.objects.create(account_id=walk.account_id, walk=walk, order=1, node_id=first["id"], node=first)
    if walk.flow_id:
        Flow.objects.filter(pk=walk.flow_id).update(last_matched_at=timezone.now())
    return walk


# A proposal an admin approved (not yet published, or published as its flow) may be walked.
_WALKABLE_PROPOSALS = frozenset({FlowProposal.Status.APPROVED})
