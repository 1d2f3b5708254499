"""Starting an engineer session (SPEC §2 "Start"): the intake is saved first, then the ticket's
context is gathered, the intake classified (never blocking: a failure falls back to the intake's
own words), flows matched and the first message frozen. The first AI turn is `turns.session_take_turn`."""

import logging

from django.db import transaction
from django.utils import timezone

from flywheel_app.keywords import stored as stored_keywords
from flywheel_app.selectors import GUIDE_THRESHOLD, GUIDED_THRESHOLD, flow_match
from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import audit_record
from resolutionflow.ai.client import Subject, ai_json
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import DomainError, InvalidInput
from resolutionflow.psa.client import PSANotConnected, psa_client_for_account
from resolutionflow.psa.models import InternalTicket
from resolutionflow.taxonomy import Domain
from sessions_app import prompts
from sessions_app.models import AISession
from sessions_app.selectors import script_templates_for_session, similar_resolved_sessions
from sessions_app.services.similar import similar_query_text

logger = logging.getLogger(__name__)


def session_start(
    *,
    user: User,
    intake_type: str,
    intake_text: str = "",
    screenshot=None,
    internal_ticket: InternalTicket | None = None,
    psa_ticket_ref: str = "",
) -> AISession:
    """Create the session (saved first), gather context, classify, match flows, freeze the first
    message. The first AI turn is a separate call (`session_take_turn`) so its failure leaves a
    session the engineer can retry from."""
    session = session_create(
        user=user,
        intake_type=intake_type,
        intake_text=intake_text,
        screenshot=screenshot,
        internal_ticket=internal_ticket,
        psa_ticket_ref=psa_ticket_ref,
    )
    return session_prepare(session=session, user=user)


def session_create(
    *,
    user: User,
    intake_type: str,
    intake_text: str = "",
    screenshot=None,
    internal_ticket: InternalTicket | None = None,
    psa_ticket_ref: str = "",
) -> AISession:
    """The session and its intake, saved: database work only, so a caller may do it under a lock
    of its own. `session_prepare` does the rest (outside any lock: it calls the PSA and the AI)."""
    if internal_ticket is not None and internal_ticket.account_id != user.account_id:
        raise InvalidInput("That ticket is not in your account.")
    text = (intake_text or "").strip()
    if internal_ticket is not None and not text:
        text = f"{internal_ticket.title}\n\n{internal_ticket.description}".strip()
    if not text and not psa_ticket_ref and screenshot is None:
        raise InvalidInput("Describe the problem, paste a log, attach a screenshot or give a ticket.")

    with transaction.atomic():
        session = AISession(
            account_id=user.account_id,
            owner=user,
            team=user.teams.order_by("name").first(),
            intake_type=intake_type,
            intake_content=text,
            internal_ticket=internal_ticket,
            psa_ticket_ref=psa_ticket_ref.strip(),
            problem_summary=_fallback_summary(
                text or (f"PSA ticket #{psa_ticket_ref.strip()}" if psa_ticket_ref.strip() else "Screenshot")
            ),
        )
        session.summary_keywords = stored_keywords(summary=session.problem_summary, key_symptoms=[])
        if screenshot is not None:
            session.screenshot_content_type = getattr(screenshot, "content_type", "")
            session.screenshot.save(screenshot.name, screenshot, save=False)
        session.full_clean(exclude=["screenshot"])
        session.save()
        audit_record(
            account=session.account,
            actor=user,
            action="session.start",
            obj=session,
            details={"intake_type": intake_type},
        )
    return session


def session_prepare(*, session: AISession, user: User) -> AISession:
    """Gather the ticket's context, classify the intake (never blocking), match flows and freeze
    the first message of a session `session_create` saved."""
    text = session.intake_content
    ticket_context, ticket_note = ticket_context_fetch(session)
    classification = _classify(session, user, text, ticket_context)
    matches = flow_match(
        account=session.account_id, text=" ".join([text, classification["summary"]]), domain=classification["domain"]
    )
    best = matches[0] if matches and matches[0].score > GUIDE_THRESHOLD else None
    templates = script_templates_for_session(account_id=session.account_id, team_id=session.team_id, user=user)
    # "Solved before": one query, kept on the session and given to the AI as hints.
    similar = similar_resolved_sessions(
        account_id=session.account_id,
        text=similar_query_text(
            intake=text,
            summary=classification["summary"],
            key_symptoms=classification["key_symptoms"],
            ticket_context=ticket_context,
        ),
        summary=classification["summary"],
        exclude_id=session.pk,
    )
    template_brief = [
        {
            "slug": t.slug,
            "name": t.name,
            "category": t.category,
            "description": t.description,
            "parameters": [{"key": p.get("key"), "type": p.get("type"), "label": p.get("label")} for p in t.parameters],
        }
        for t in templates
    ]
    with transaction.atomic():
        session.problem_summary = classification["summary"][:120]
        session.problem_domain = classification["domain"]
        session.urgency = classification["urgency"]
        session.key_symptoms = classification["key_symptoms"][:10]
        session.summary_keywords = stored_keywords(summary=session.problem_summary, key_symptoms=session.key_symptoms)
        session.ticket_context = ticket_context or {}
        session.ticket_context_status = (
            AISession.TicketContextStatus.FETCHED
            if ticket_context
            else AISession.TicketContextStatus.UNAVAILABLE
            if ticket_note
            else AISession.TicketContextStatus.NONE
        )
        session.ticket_context_note = ticket_note
        if best is not None:
            session.matched_flow = best.flow
            session.match_score = best.score
            if best.score > GUIDED_THRESHOLD:
                session.confidence_tier = AISession.Tier.GUIDED
        session.context_message = prompts.context_message(
            intake_type=session.intake_type,
            intake=text or "(no text: see the ticket context)",
            ticket_context=ticket_context,
            ticket_note=ticket_note,
            classification=classification,
            flow_guide=prompts.flow_guide_text(best.flow) if best else "",
            templates=template_brief,
            similar=similar,
        )
        session.similar_sessions = similar
        session.save(
            update_fields=[
                "problem_summary",
                "problem_domain",
                "urgency",
                "key_symptoms",
                "summary_keywords",
                "ticket_context",
                "ticket_context_status",
                "ticket_context_note",
                "matched_flow",
                "match_score",
                "confidence_tier",
                "context_message",
                "similar_sessions",
            ]
        )
        if best is not None:
            type(best.flow).objects.filter(pk=best.flow.pk).update(last_matched_at=timezone.now())
    return session


def _fallback_summary(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 120 else line[:119] + "…"


def _classify(session: AISession, user: User, text: str, ticket_context: dict | None) -> dict:
    material = text or (ticket_context or {}).get("summary", "") or session.problem_summary
    message: str | list = prompts.classify_message(material)
    if session.screenshot:
        message = [prompts.screenshot_block(session), {"type": "text", "text": message}]
    try:
        result = ai_json(
            action="session_classify",
            system=prompts.CLASSIFY_SYSTEM,
            messages=[{"role": "user", "content": message}],
            schema=prompts.CLASSIFY_SCHEMA,
            account=session.account,
            user=user,
            subject=Subject("session", session.pk),
            max_tokens=400,
        )
        return result
    except AIError as exc:
        # Classification never blocks a session: start with the start of the intake and domain "other".
        logger.info("classification failed for session %s: %s", session.pk, exc.kind)
        return {"summary": _fallback_summary(material), "domain": Domain.OTHER, "urgency": "medium", "key_symptoms": []}


def ticket_context_fetch(session: AISession) -> tuple[dict | None, str]:
    """The linked ticket's context for the AI, or None and why it is unavailable."""
    return ticket_context_for(
        account=session.account,
        internal_ticket=session.internal_ticket if session.internal_ticket_id else None,
        psa_ticket_ref=session.psa_ticket_ref,
        session_id=session.pk,
    )


def ticket_context_for(
    *, account, internal_ticket: InternalTicket | None, psa_ticket_ref: str, session_id: int | None = None
) -> tuple[dict | None, str]:
    """The ticket's context (an internal ticket's fields, or the PSA ticket's summary, company,
    priority and recent notes), or None and why it is unavailable. Never raises: a PSA that cannot
    be reached must not stop the session."""
    if internal_ticket is not None:
        t = internal_ticket
        return {"ticket": t.reference, "title": t.title, "description": t.description, "status": t.status}, ""
    if psa_ticket_ref:
        try:
            ctx = psa_client_for_account(account).fetch_ticket_context(psa_ticket_ref)
        except PSANotConnected:
            return None, "no PSA is connected to this account"
        except DomainError as exc:  # ConnectWise down, refusing, or no such ticket: said as it is
            logger.info("PSA context fetch failed for session %s: %s", session_id, exc.__class__.__name__)
            return None, exc.message.rstrip(".")[:280]
        except Exception as exc:  # the PSA being down must not stop the session
            logger.warning("PSA context fetch failed for session %s: %s", session_id, exc.__class__.__name__)
            return None, "the PSA could not be reached"
        context = {
            "ticket": ctx.ticket_ref,
            "summary": ctx.summary,
            "company": ctx.company,
            "priority": ctx.priority,
            "status": ctx.status,
            "recent_notes": ctx.recent_notes[:5],
        }
        context.update({key: value for key, value in (("board", ctx.board), ("contact", ctx.contact)) if value})
        return context, ""
    return None, ""
