"""Every write of an engineer session (SPEC §2). The engineer's input is saved before the AI is
called, so a failed AI call loses nothing and the turn can be retried."""

import base64
import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from flywheel_app.selectors import GUIDE_THRESHOLD, GUIDED_THRESHOLD, flow_match
from resolutionflow.accounts.models import User
from resolutionflow.accounts.services import audit_record
from resolutionflow.ai.client import Subject, ai_json
from resolutionflow.ai.errors import AIError
from resolutionflow.ai.models import AIUsage
from resolutionflow.errors import Conflict, InvalidInput
from resolutionflow.psa.client import PSANotConnected, psa_client_for_account
from resolutionflow.psa.models import InternalTicket
from resolutionflow.taxonomy import Domain
from sessions_app import prompts
from sessions_app.models import MAX_OPTIONS, MAX_STEPS, AISession, LaneItem, SessionStep
from sessions_app.selectors import script_templates_for_session
from sessions_app.services.documentation import session_documentation

logger = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 10_000


# --- start -----------------------------------------------------------------------------


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

    ticket_context, ticket_note = _ticket_context(session, user)
    classification = _classify(session, user, text, ticket_context)
    matches = flow_match(
        account=session.account_id, text=" ".join([text, classification["summary"]]), domain=classification["domain"]
    )
    best = matches[0] if matches and matches[0].score > GUIDE_THRESHOLD else None
    templates = script_templates_for_session(account_id=session.account_id, team_id=session.team_id, user=user)
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
        )
        session.save(
            update_fields=[
                "problem_summary",
                "problem_domain",
                "urgency",
                "key_symptoms",
                "ticket_context",
                "ticket_context_status",
                "ticket_context_note",
                "matched_flow",
                "match_score",
                "confidence_tier",
                "context_message",
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
        message = [_screenshot_block(session), {"type": "text", "text": message}]
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
    finally:
        _sync_session_usage(session.pk)


def _ticket_context(session: AISession, user: User) -> tuple[dict | None, str]:
    if session.internal_ticket_id:
        t = session.internal_ticket
        return {"ticket": t.reference, "title": t.title, "description": t.description, "status": t.status}, ""
    if session.psa_ticket_ref:
        try:
            ctx = psa_client_for_account(session.account).fetch_ticket_context(session.psa_ticket_ref)
        except PSANotConnected:
            return None, "no PSA is connected to this account"
        except Exception as exc:  # the PSA being down must not stop the session
            logger.warning("PSA context fetch failed for session %s: %s", session.pk, exc.__class__.__name__)
            return None, "the PSA could not be reached"
        return {
            "ticket": ctx.ticket_ref,
            "summary": ctx.summary,
            "company": ctx.company,
            "priority": ctx.priority,
            "status": ctx.status,
            "recent_notes": ctx.recent_notes[:5],
        }, ""
    return None, ""


# --- turns -----------------------------------------------------------------------------


def session_needs_turn(session: AISession, last_step: SessionStep | None) -> bool:
    return (
        session.status == AISession.Status.ACTIVE
        and session.step_count < MAX_STEPS
        and (last_step is None or last_step.answered)
    )


def session_take_turn(*, session: AISession, actor: User) -> SessionStep:
    """Ask the AI for the next step and record it. Raises AIError (nothing lost) or Conflict."""
    steps = list(session.steps.order_by("order"))
    last = steps[-1] if steps else None
    if session.status != AISession.Status.ACTIVE:
        raise Conflict(
            "The session is not active." + (" Resume it first." if session.status == AISession.Status.PAUSED else "")
        )
    if session.step_count >= MAX_STEPS:
        raise Conflict(f"This session has reached {MAX_STEPS} steps. Resolve it, or escalate it to a colleague.")
    if last is not None and not last.answered:
        return last  # the current step is still waiting for an answer (a double submit, a reload)
    since = AIUsage.objects.filter(account_id=session.account_id).aggregate(m=Max("id"))["m"] or 0
    try:
        turn = ai_json(
            action="session_turn",
            system=prompts.TURN_SYSTEM,
            messages=build_messages(session, steps),
            schema=prompts.TURN_SCHEMA,
            account=session.account,
            user=actor,
            subject=Subject("session", session.pk),
            max_tokens=1500,
            cache_conversation=True,
        )
        step_obj = _step_content(turn)
    except AIError:
        # A failed turn was still paid for: its attempts count in the session's totals.
        _sync_session_usage(session.pk)
        session.refresh_from_db()
        raise
    with transaction.atomic():
        locked = AISession.objects.select_for_update().get(pk=session.pk)
        if locked.step_count != len(steps):
            # Another request recorded this turn while we waited for the AI: keep theirs (our
            # call's cost still counts toward the session).
            _sync_session_usage(locked.pk)
            return locked.steps.order_by("-order").first()
        order = locked.step_count + 1
        confidence = min(max(float(turn["confidence"]), 0.0), 1.0)
        if order == 1 and locked.match_score and locked.match_score > GUIDED_THRESHOLD:
            confidence = max(confidence, locked.match_score)  # a strong flow match starts guided
        step = SessionStep.objects.create(
            account_id=locked.account_id,
            session=locked,
            order=order,
            step_type=step_obj["type"],
            content=step_obj["content"],
            raw_turn=_canonical(turn),
            confidence=confidence,
            reasoning=turn.get("reasoning", ""),
        )
        _apply_lane(locked, turn["lane"], order)
        _apply_turn_extras(locked, step, turn)
        locked.step_count = order
        locked.confidence_score = confidence
        locked.confidence_tier = AISession.tier_for(confidence)
        locked.last_activity_at = timezone.now()
        locked.save(update_fields=["step_count", "confidence_score", "confidence_tier", "last_activity_at"])
        _record_step_usage(step, since_id=since)
        _sync_session_usage(locked.pk)
    session.refresh_from_db()
    return step


def _apply_turn_extras(session: AISession, step: SessionStep, turn: dict) -> None:
    """What a turn may carry beside its step: a fix, an outcome reading, facts to promote."""
    from sessions_app.services import fixes
    from sessions_app.signals import turn_recorded

    fix = turn.get("fix")
    if isinstance(fix, dict) and (fix.get("title") or "").strip():
        fixes.fix_propose(
            session=session,
            step=step,
            title=fix["title"],
            description=fix.get("description") or "",
            confidence=fix.get("confidence") or 0,
            script_template_slug=fix.get("script_template"),
            script_parameters={p["key"]: p["value"] for p in fix.get("script_parameters") or []},
        )
    outcome = turn.get("proposed_outcome")
    if isinstance(outcome, dict):
        fixes.fix_ai_propose_outcome(session=session, outcome=outcome.get("status", ""), note=outcome.get("note", ""))
    # facts_app listens: sessions_app does not import the apps that build on it.
    turn_recorded.send(sender=AISession, session=session, step=step, promotions=turn.get("promote_facts") or [])


def _canonical(turn: dict) -> str:
    import json

    return json.dumps(turn, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _step_content(turn: dict) -> dict:
    step = turn["step"]
    kind = step["type"]
    key = {"question": "question", "action": "action", "resolution_suggestion": "resolution"}[kind]
    content = step.get(key)
    if not isinstance(content, dict):
        raise AIError("invalid_output", f"step type {kind} without its {key} object")
    content = dict(content)
    if kind == "question":
        # Options are capped at five; duplicates by value are dropped.
        seen, options = set(), []
        for option in content.get("options") or []:
            if option["value"] not in seen:
                seen.add(option["value"])
                options.append({"label": option["label"][:80], "value": option["value"][:80]})
        content["options"] = options[:MAX_OPTIONS]
        if not content["options"]:
            content["allow_free_text"] = True
    if kind == "action":
        content["script_parameters"] = {p["key"]: p["value"] for p in content.get("script_parameters") or []}
    return {"type": kind, "content": content}


def _apply_lane(session: AISession, lane: dict, order: int) -> None:
    existing = {(i.kind, i.normalized_text): i for i in session.lane_items.all()}
    counts = {LaneItem.Kind.QUESTION: 0, LaneItem.Kind.CHECK: 0}
    for item in existing.values():
        counts[item.kind] += 1
    for kind, key, prefix in ((LaneItem.Kind.QUESTION, "questions", "Q"), (LaneItem.Kind.CHECK, "checks", "C")):
        for proposed in (lane.get(key) or [])[:5]:
            normalized = LaneItem.normalize(proposed["text"])
            if not normalized:
                continue
            item = existing.get((kind, normalized))
            if item is None:
                counts[kind] += 1
                item = LaneItem.objects.create(
                    account_id=session.account_id,
                    session=session,
                    kind=kind,
                    public_id=f"{prefix}{counts[kind]}",
                    text=normalized,
                    normalized_text=normalized,
                    why=proposed.get("why", ""),
                    first_step=order,
                    last_step=order,
                )
                existing[(kind, normalized)] = item
            else:
                item.last_step = order
                item.why = proposed.get("why", "") or item.why
                item.save(update_fields=["last_step", "why"])


def _usage_totals(rows) -> tuple[int, int, int, int, Decimal]:
    totals = rows.aggregate(
        i=Sum("input_tokens"),
        o=Sum("output_tokens"),
        r=Sum("cache_read_tokens"),
        w=Sum("cache_write_tokens"),
        c=Sum("cost_usd"),
    )
    return (*(totals[k] or 0 for k in "iorw"), totals["c"] or Decimal("0"))


def _record_step_usage(step: SessionStep, *, since_id: int) -> None:
    """The step's tokens: the session's calls recorded since its turn started (retries included)."""
    rows = AIUsage.objects.filter(subject_type="session", subject_id=step.session_id, id__gt=since_id)
    i, o, r, w, _ = _usage_totals(rows)
    SessionStep.objects.filter(pk=step.pk).update(
        input_tokens=i, output_tokens=o, cache_read_tokens=r, cache_write_tokens=w
    )


def _sync_session_usage(session_id: int) -> None:
    """Session totals = the sum of every AI call made for it, failed ones included (they were paid).
    Recomputed rather than incremented, so a failed or concurrent turn can never make them drift."""
    rows = AIUsage.objects.filter(subject_type="session", subject_id=session_id)
    i, o, r, w, cost = _usage_totals(rows)
    AISession.objects.filter(pk=session_id).update(
        input_tokens=i, output_tokens=o, cache_read_tokens=r, cache_write_tokens=w, cost_usd=cost
    )


def build_messages(session: AISession, steps: list[SessionStep]) -> list[dict]:
    """The conversation as the AI sees it. Everything before the newest message is replayed from
    frozen text, so the prefix is byte-identical between turns and prompt caching pays."""
    first: str | list = session.context_message
    if session.screenshot:
        first = [_screenshot_block(session), {"type": "text", "text": session.context_message}]
    messages: list[dict] = [{"role": "user", "content": first}]
    for step in steps:
        messages.append({"role": "assistant", "content": step.raw_turn})
        if step.answered:
            messages.append({"role": "user", "content": step.answer_message})
    return messages


def _screenshot_block(session: AISession) -> dict:
    """The intake screenshot as an image content block (the AI reads it as an image)."""
    with session.screenshot.open("rb") as fh:
        data = base64.b64encode(fh.read()).decode("ascii")
    return {"type": "image", "source": {"type": "base64", "media_type": session.screenshot_content_type, "data": data}}


# --- answers ---------------------------------------------------------------------------


def session_answer_step(
    *,
    session: AISession,
    step: SessionStep,
    actor: User,
    kind: str,
    value: str = "",
    text: str = "",
    worked: bool | None = None,
) -> SessionStep:
    """Record the engineer's response to the current step. Saved before any AI call."""
    text = (text or "").strip()
    if len(text) > MAX_ANSWER_CHARS:
        raise InvalidInput(f"The answer is too long ({len(text):,} characters; at most {MAX_ANSWER_CHARS:,}).")
    with transaction.atomic():
        locked = AISession.objects.select_for_update().get(pk=session.pk)
        _require_owner_active(locked, actor)
        step = SessionStep.objects.select_for_update().get(pk=step.pk, session=locked)
        if step.answered:
            raise Conflict("This step was already answered.")
        if step.order != locked.step_count:
            raise Conflict("Only the current step can be answered.")
        label = _validate_response(step, kind, value, text, worked)
        lane_items = list(
            locked.lane_items.filter(status=LaneItem.Status.ANSWERED, reported_in_step__isnull=True).order_by(
                "answered_at", "id"
            )
        )
        step.response_kind = kind
        step.response_value = value if kind == SessionStep.ResponseKind.OPTION else ""
        step.response_text = text
        step.action_worked = worked if kind == SessionStep.ResponseKind.ACTION_RESULT else None
        step.responded_at = timezone.now()
        step.responded_by = actor
        step.answer_message = prompts.answer_message(
            answer=label,
            lane_answers=[f"{i.public_id} {i.text} → {i.answer}" for i in lane_items],
            extra_context=locked.pending_context,
            limit_note=(
                f"This is step {step.order} of at most {MAX_STEPS}: "
                "prefer a resolution suggestion or an escalation soon."
                if step.order >= MAX_STEPS - 3
                else ""
            ),
        )
        step.save(
            update_fields=[
                "response_kind",
                "response_value",
                "response_text",
                "action_worked",
                "responded_at",
                "responded_by",
                "answer_message",
            ]
        )
        if lane_items:
            LaneItem.objects.filter(pk__in=[i.pk for i in lane_items]).update(reported_in_step=step.order)
        locked.pending_context = ""
        locked.last_activity_at = timezone.now()
        locked.save(update_fields=["pending_context", "last_activity_at"])
        from sessions_app.services.fixes import fix_count_engineer_message

        fix_count_engineer_message(session_id=locked.pk)
    session.refresh_from_db()
    return step


def _validate_response(step: SessionStep, kind: str, value: str, text: str, worked: bool | None) -> str:
    """Check the response fits the step; return the text the AI will read."""
    c = step.content
    K = SessionStep.ResponseKind
    is_question = step.step_type == SessionStep.StepType.QUESTION
    if kind == K.OPTION:
        if not is_question:
            raise InvalidInput("This step has no options to pick.")
        labels = {o["value"]: o["label"] for o in c.get("options", [])}
        if value not in labels:
            raise InvalidInput("Pick one of the offered options.")
        return f"Picked: {labels[value]}" + (f"\nNote: {text}" if text else "")
    if kind == K.FREE_TEXT:
        if not text:
            raise InvalidInput("Type an answer before sending.")
        if is_question and not c.get("allow_free_text", True) and c.get("options"):
            raise InvalidInput("This question needs one of the offered options.")
        return text
    if kind == K.SKIPPED:
        if is_question and not c.get("allow_skip", True):
            raise InvalidInput("This question cannot be skipped.")
        return "Skipped: the engineer can't check this now." + (f"\nNote: {text}" if text else "")
    if kind == K.ACTION_RESULT:
        if step.step_type not in (SessionStep.StepType.ACTION, SessionStep.StepType.RESOLUTION_SUGGESTION):
            raise InvalidInput("Only an action or a suggested fix has a result to report.")
        if worked is None:
            raise InvalidInput("Say whether it worked.")
        return ("Result: worked." if worked else "Result: did not work.") + (f"\nDetails: {text}" if text else "")
    raise InvalidInput("Unknown kind of answer.")


def lane_item_answer(*, session: AISession, item: LaneItem, actor: User, answer: str) -> LaneItem:
    answer = (answer or "").strip()
    if not answer:
        raise InvalidInput("Type an answer before saving.")
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidInput(f"The answer is too long (at most {MAX_ANSWER_CHARS:,} characters).")
    with transaction.atomic():
        locked = AISession.objects.select_for_update().get(pk=session.pk)
        _require_owner_active(locked, actor)
        item = LaneItem.objects.select_for_update().get(pk=item.pk, session=locked)
        item.answer = answer
        item.status = LaneItem.Status.ANSWERED
        item.answered_at = timezone.now()
        item.answered_by = actor
        item.reported_in_step = None  # a changed answer is reported again
        item.save(update_fields=["answer", "status", "answered_at", "answered_by", "reported_in_step"])
        AISession.objects.filter(pk=locked.pk).update(last_activity_at=timezone.now())
    return item


def _require_owner_active(session: AISession, actor: User) -> None:
    if session.owner_id != actor.pk:
        raise Conflict("Only the session's engineer can do that.")
    if session.status == AISession.Status.PAUSED:
        raise Conflict("The session is paused. Resume it to continue.")
    if session.status != AISession.Status.ACTIVE:
        raise Conflict(f"The session is {session.get_status_display().lower()}; it cannot change now.")


# --- lifecycle -------------------------------------------------------------------------


def _transition(
    session: AISession,
    actor: User | None,
    *,
    allowed: tuple,
    to: str,
    action: str,
    extra: dict | None = None,
    message: str,
) -> AISession:
    with transaction.atomic():
        locked = AISession.objects.select_for_update().get(pk=session.pk)
        if actor is not None and locked.owner_id != actor.pk:
            raise Conflict("Only the session's engineer can do that.")
        if locked.status not in allowed:
            raise Conflict(message)
        locked.status = to
        fields = ["status", "last_activity_at"]
        locked.last_activity_at = timezone.now()
        for name, value in (extra or {}).items():
            setattr(locked, name, value)
            fields.append(name)
        locked.save(update_fields=fields)
        audit_record(
            account=locked.account, actor=actor, action=action, obj=locked, acting_as="" if actor else "system"
        )
    session.refresh_from_db()
    return session


def session_pause(*, session: AISession, actor: User) -> AISession:
    return _transition(
        session,
        actor,
        allowed=(AISession.Status.ACTIVE,),
        to=AISession.Status.PAUSED,
        action="session.pause",
        extra={"paused_at": timezone.now()},
        message="Only an active session can be paused.",
    )


def session_resume(*, session: AISession, actor: User) -> AISession:
    return _transition(
        session,
        actor,
        allowed=(AISession.Status.PAUSED,),
        to=AISession.Status.ACTIVE,
        action="session.resume",
        extra={"paused_at": None},
        message="Only a paused session can be resumed.",
    )


def session_reopen(*, session: AISession, actor: User) -> AISession:
    return _transition(
        session,
        actor,
        allowed=(AISession.Status.ABANDONED,),
        to=AISession.Status.ACTIVE,
        action="session.reopen",
        extra={"abandoned_at": None},
        message="Only an abandoned session can be reopened.",
    )


def sessions_abandon_idle(*, now=None) -> int:
    """Mark active or paused sessions with no activity for SESSION_ABANDON_AFTER_HOURS as abandoned."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.SESSION_ABANDON_AFTER_HOURS)
    count = 0
    idle = AISession.objects.filter(
        status__in=[AISession.Status.ACTIVE, AISession.Status.PAUSED], last_activity_at__lt=cutoff
    )
    for session in idle.only("pk"):
        with transaction.atomic():
            locked = (
                AISession.objects.select_for_update(skip_locked=True)
                .filter(
                    pk=session.pk,
                    status__in=[AISession.Status.ACTIVE, AISession.Status.PAUSED],
                    last_activity_at__lt=cutoff,
                )
                .first()
            )
            if locked is None:
                continue
            locked.status = AISession.Status.ABANDONED
            locked.abandoned_at = now
            locked.save(update_fields=["status", "abandoned_at"])
            audit_record(
                account=locked.account,
                actor=None,
                action="session.abandon",
                obj=locked,
                acting_as="system",
                details={"idle_since": locked.last_activity_at.isoformat()},
            )
            count += 1
    return count


def session_rate(*, session: AISession, actor: User, rating: int, feedback: str = "") -> AISession:
    if not 1 <= int(rating) <= 5:
        raise InvalidInput("Rate the session from 1 to 5.")
    with transaction.atomic():
        locked = AISession.objects.select_for_update().get(pk=session.pk)
        if locked.owner_id != actor.pk:
            raise Conflict("Only the session's engineer can rate it.")
        if locked.status != AISession.Status.RESOLVED:
            raise Conflict("A session can be rated once it is resolved.")
        locked.rating = int(rating)
        locked.rating_feedback = feedback.strip()[:5000]
        locked.save(update_fields=["rating", "rating_feedback"])
        audit_record(
            account=locked.account, actor=actor, action="session.rate", obj=locked, details={"rating": locked.rating}
        )
    session.refresh_from_db()
    return session


def session_link_ticket(
    *, session: AISession, actor: User, psa_ticket_ref: str = "", internal_ticket: InternalTicket | None = None
) -> AISession:
    """Link a ticket mid-session; its context reaches the AI with the next answer."""
    psa_ticket_ref = (psa_ticket_ref or "").strip()
    if not psa_ticket_ref and internal_ticket is None:
        raise InvalidInput("Give a PSA ticket number or pick an internal ticket.")
    if internal_ticket is not None and internal_ticket.account_id != session.account_id:
        raise InvalidInput("That ticket is not in your account.")
    with transaction.atomic():
        locked = AISession.objects.select_for_update().get(pk=session.pk)
        _require_owner_active(locked, actor) if locked.status != AISession.Status.PAUSED else None
        if locked.owner_id != actor.pk:
            raise Conflict("Only the session's engineer can do that.")
        locked.psa_ticket_ref = psa_ticket_ref
        locked.internal_ticket = internal_ticket
        context, note = _ticket_context(locked, actor)
        locked.ticket_context = context or {}
        locked.ticket_context_status = (
            AISession.TicketContextStatus.FETCHED if context else AISession.TicketContextStatus.UNAVAILABLE
        )
        locked.ticket_context_note = note
        if context:
            import json

            locked.pending_context = "A ticket was linked to this session. Its context:\n" + prompts.fence(
                json.dumps(context, ensure_ascii=False, sort_keys=True), source="ticket"
            )
        locked.save(
            update_fields=[
                "psa_ticket_ref",
                "internal_ticket",
                "ticket_context",
                "ticket_context_status",
                "ticket_context_note",
                "pending_context",
            ]
        )
        audit_record(
            account=locked.account,
            actor=actor,
            action="session.link_ticket",
            obj=locked,
            details={"ticket": locked.psa_ticket_ref or (internal_ticket.reference if internal_ticket else "")},
        )
    session.refresh_from_db()
    return session


def session_resolve(*, session: AISession, actor: User, summary: str, action: str = "", note: str = "") -> AISession:
    """Resolve (SPEC §2, §9): record the resolution, mark a verifying or pending fix as a success,
    write the documentation, queue the session for the flywheel — all saved first — then post the
    resolution note (the engineer's confirmed text, or a fresh draft) to the ticket. A failed post
    is recorded on the push and retried; it never undoes the resolve."""
    from sessions_app.documents import RESOLUTION_NOTE
    from sessions_app.services.ticket_pushes import push_attempt, push_create

    summary, action = (summary or "").strip(), (action or "").strip()
    note = (note or "").replace("\r\n", "\n").strip()  # a textarea sends CRLF
    if not summary:
        raise InvalidInput("Say how the problem was resolved.", field="summary")
    if len(note) > 20000:
        raise InvalidInput("The resolution note is too long (at most 20,000 characters).", field="note")
    with transaction.atomic():
        locked = (
            AISession.objects.select_for_update(of=("self",))
            .select_related("owner", "internal_ticket", "account")
            .get(pk=session.pk)
        )
        if locked.owner_id != actor.pk:
            raise Conflict("Only the session's engineer can resolve it.")
        if locked.status == AISession.Status.RESOLVED:
            raise Conflict("This session is already resolved.")
        if locked.status not in (AISession.Status.ACTIVE, AISession.Status.PAUSED):
            raise Conflict("Only an active or paused session can be resolved.")
        now = timezone.now()
        locked.status = AISession.Status.RESOLVED
        locked.resolution_summary = summary[:5000]
        locked.resolution_action = action[:5000]
        locked.resolved_at = now
        locked.last_activity_at = now
        locked.analysis_status = AISession.AnalysisStatus.PENDING
        locked.documentation = session_documentation(locked, list(locked.steps.order_by("order")))
        locked.save(
            update_fields=[
                "status",
                "resolution_summary",
                "resolution_action",
                "resolved_at",
                "last_activity_at",
                "analysis_status",
                "documentation",
            ]
        )
        from sessions_app.services.fixes import fix_on_resolve

        fix_on_resolve(session=locked)
        push = push_create(session=locked, kind=RESOLUTION_NOTE, body=note, actor=actor)
        audit_record(account=locked.account, actor=actor, action="session.resolve", obj=locked)
    push_attempt(push=push, actor=actor)
    session.refresh_from_db()
    return session
