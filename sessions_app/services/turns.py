"""The conversation of an engineer session (SPEC §2 "Steps", "Task lane"): the engineer's answer
is saved before the AI is called, so a failed call loses nothing and the turn can be retried; each
AI turn is recorded with its lane items, fix and promoted facts, and its cost is added to the
session's running totals."""

import json

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from flywheel_app.models import Flow
from flywheel_app.selectors import GUIDED_THRESHOLD
from flywheel_app.trees import question_node_id
from resolutionflow.accounts.models import User
from resolutionflow.ai.client import Subject, ai_json, collect_usage, usage_totals
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict, InvalidInput
from sessions_app import prompts
from sessions_app.models import MAX_OPTIONS, MAX_STEPS, AISession, LaneItem, SessionStep, SuggestedFix
from sessions_app.services import fixes
from sessions_app.services.guards import WORKING, session_check, session_lock
from sessions_app.services.state import session_bump_state_version
from sessions_app.signals import turn_recorded

MAX_ANSWER_CHARS = 10_000


def session_take_turn(*, session: AISession, actor: User, steps: list[SessionStep] | None = None) -> SessionStep:
    """Ask the AI for the next step and record it. Raises AIError (nothing lost) or Conflict.
    `session` is left current (step count, confidence, totals) whether the turn succeeds or fails.
    `steps`: the conversation as the caller just read it (with its answer saved), else read here."""
    not_active = "The session is not active." + (
        " Resume it first." if session.status == AISession.Status.PAUSED else ""
    )
    session_check(session, actor=actor, states=WORKING, conflict=not_active)
    if session.step_count >= MAX_STEPS:
        raise Conflict(f"This session has reached {MAX_STEPS} steps. Resolve it, or escalate it to a colleague.")
    steps = list(session.steps.order_by("order")) if steps is None else steps
    last = steps[-1] if steps else None
    if last is not None and not last.answered:
        return last  # the current step is still waiting for an answer (a double submit, a reload)
    with collect_usage() as calls:
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
            # A failed turn was still paid for: its attempts count in the session's totals (in
            # the database as they were recorded; here, for the page answering this request).
            _count_on(session, calls)
            raise
    order = len(steps) + 1
    flow_node_id = _flow_node_id(session, step_obj)
    confidence = min(max(float(turn["confidence"]), 0.0), 1.0)
    if order == 1 and session.match_score and session.match_score > GUIDED_THRESHOLD:
        confidence = max(confidence, session.match_score)  # a strong flow match starts guided
    changes = {
        "step_count": order,
        "confidence_score": confidence,
        "confidence_tier": AISession.tier_for(confidence),
        "last_activity_at": timezone.now(),
    }
    totals = usage_totals(calls)
    with transaction.atomic():
        # The session row's lock, taken by the update that records the turn: only if the session
        # is still the actor's, still active, and nobody recorded this turn while the AI thought.
        # The turn's open questions and checks are an input of the previews: the same update bumps
        # state_version.
        recorded = AISession.objects.filter(
            pk=session.pk, owner_id=actor.pk, status=AISession.Status.ACTIVE, step_count=len(steps)
        ).update(**changes, state_version=F("state_version") + 1)
        if not recorded:
            # The guard says why; or another request recorded this turn while the AI thought, and
            # its step is the answer (our call's cost counted all the same, as it was recorded).
            locked = session_lock(session_id=session.pk, actor=actor, states=WORKING, conflict=not_active)
            session.refresh_from_db()
            return locked.steps.order_by("-order").first()
        step = SessionStep.objects.create(
            account_id=session.account_id,
            session=session,
            order=order,
            step_type=step_obj["type"],
            content=step_obj["content"],
            raw_turn=_canonical(turn),
            confidence=confidence,
            reasoning=turn.get("reasoning", ""),
            flow_node_id=flow_node_id,
            input_tokens=totals["input_tokens"],
            output_tokens=totals["output_tokens"],
            cache_read_tokens=totals["cache_read_tokens"],
            cache_write_tokens=totals["cache_write_tokens"],
        )
        for name, value in changes.items():
            setattr(session, name, value)
        _count_on(session, calls)
        _apply_lane(session, turn["lane"], order)
        _apply_turn_extras(session, step, turn)
    return step


def _flow_node_id(session: AISession, step_obj: dict) -> str:
    """The matched flow's question this step asks (the same text, case, spacing and closing
    punctuation aside), so the knowledge gaps can count how often a flow's question is escaped."""
    if step_obj["type"] != SessionStep.StepType.QUESTION or not session.matched_flow_id:
        return ""
    tree = Flow.objects.filter(pk=session.matched_flow_id).values_list("tree", flat=True).first()
    return question_node_id(tree, step_obj["content"].get("text", ""))


def _count_on(session: AISession, calls: list) -> None:
    """The calls' tokens and cost on the caller's copy of the session (the database has them)."""
    for name, value in usage_totals(calls).items():
        setattr(session, name, getattr(session, name) + value)


def _apply_turn_extras(session: AISession, step: SessionStep, turn: dict) -> None:
    """What a turn may carry beside its step: a fix, an outcome reading, facts to promote."""
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
    """Record the questions and checks the turn proposes. An item proposed again (same text after
    whitespace normalisation) keeps its stable id; a new one gets the next id of its kind. One read
    of the lane's keys (id, kind, text: no model objects), one insert, one update."""
    proposed: dict[tuple[str, str], str] = {}
    for kind, key in ((LaneItem.Kind.QUESTION, "questions"), (LaneItem.Kind.CHECK, "checks")):
        for item in (lane.get(key) or [])[:5]:
            normalized = LaneItem.normalize(item["text"])
            if normalized and (kind, normalized) not in proposed:
                proposed[(kind, normalized)] = item.get("why", "")
    if not proposed:
        return
    keys = list(session.lane_items.values_list("pk", "kind", "normalized_text", "why"))
    existing = {(kind, text): LaneItem(pk=pk, why=why) for pk, kind, text, why in keys}
    numbers = {kind: sum(1 for _, k, _, _ in keys if k == kind) for kind in LaneItem.Kind.values}
    new, seen = [], []
    for (kind, text), why in proposed.items():
        item = existing.get((kind, text))
        if item is None:
            numbers[kind] += 1
            prefix = "Q" if kind == LaneItem.Kind.QUESTION else "C"
            new.append(
                LaneItem(
                    account_id=session.account_id, session=session, kind=kind, public_id=f"{prefix}{numbers[kind]}",
                    text=text, normalized_text=text, why=why, first_step=order, last_step=order,
                )
            )  # fmt: skip
        else:
            item.last_step = order
            item.why = why or item.why
            seen.append(item)
    if new:
        LaneItem.objects.bulk_create(new)
    if seen:
        LaneItem.objects.bulk_update(seen, ["last_step", "why"])


def build_messages(session: AISession, steps: list[SessionStep]) -> list[dict]:
    """The conversation as the AI sees it. Everything before the newest message is replayed from
    frozen text, so the prefix is byte-identical between turns and prompt caching pays."""
    first: str | list = session.context_message
    if session.screenshot:
        first = [prompts.screenshot_block(session), {"type": "text", "text": session.context_message}]
    messages: list[dict] = [{"role": "user", "content": first}]
    for step in steps:
        messages.append({"role": "assistant", "content": step.raw_turn})
        if step.answered:
            messages.append({"role": "user", "content": step.answer_message})
    return messages


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
        locked, pending_context = _hold_for_answer(session, step, actor)
        if step.session_id != locked.pk:
            raise InvalidInput("That step is not part of this session.")
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
            extra_context=pending_context,
            limit_note=(
                f"This is step {step.order} of at most {MAX_STEPS}: "
                "prefer a resolution suggestion or an escalation soon."
                if step.order >= MAX_STEPS - 3
                else ""
            ),
        )
        # Saved only if nobody answered it first (the session lock orders the two answers; the
        # step's content never changes, so the caller's copy validates it).
        fields = ["response_kind", "response_value", "response_text", "action_worked", "responded_at", "responded_by"]
        saved = SessionStep.objects.filter(pk=step.pk, response_kind="").update(
            **{name: getattr(step, name) for name in fields}, answer_message=step.answer_message
        )
        if not saved:
            raise Conflict("This step was already answered.")
        if lane_items:
            LaneItem.objects.filter(pk__in=[i.pk for i in lane_items]).update(reported_in_step=step.order)
        fixes.fix_count_engineer_message(session_id=locked.pk)
        if (
            kind == SessionStep.ResponseKind.ACTION_RESULT
            and step.step_type == SessionStep.StepType.RESOLUTION_SUGGESTION
        ):
            _record_fix_result(locked, step, actor, worked=bool(worked), details=text)
    session.pending_context, session.last_activity_at = "", locked.last_activity_at
    return step


def _record_fix_result(session: AISession, step: SessionStep, actor: User, *, worked: bool, details: str) -> None:
    """ "That fixed it" / "It didn't fix it" on the suggested fix's own step records the fix's
    outcome: the engineer said it, in so many words (the answer itself tells the AI)."""
    fix = SuggestedFix.objects.filter(
        session_id=session.pk, superseded_at__isnull=True, outcome__in=fixes.OPEN_OUTCOMES
    ).first()
    # The step's own fix, or the active fix this step suggests again (proposed with its action).
    if fix is not None and (
        fix.step_id == step.pk or fix.title == SuggestedFix.clean_title(str(step.content.get("fix", "")))
    ):
        outcome = SuggestedFix.Outcome.APPLIED_SUCCESS if worked else SuggestedFix.Outcome.APPLIED_FAILED
        fixes.fix_record_outcome(fix=fix, actor=actor, outcome=outcome, note=details, tell_ai=False)


def _hold_for_answer(session: AISession, step: SessionStep, actor: User) -> tuple[AISession, str]:
    """The guard for an answer, and the context waiting to go with it. The rule is checked on the
    caller's copy, then one UPDATE takes the session row's lock, takes the waiting context (it goes
    with this answer) and stamps the activity — only while the session is still the actor's,
    active, at this step, with the context the caller read. Anything else: the locked row decides."""
    session_check(session, actor=actor, states=WORKING)
    now = timezone.now()
    # An action's result is an input of the previews (a check run): the same update bumps it.
    bump = {"state_version": F("state_version") + 1} if step.step_type == SessionStep.StepType.ACTION else {}
    held = AISession.objects.filter(
        pk=session.pk, owner_id=actor.pk, status=AISession.Status.ACTIVE, step_count=step.order,
        pending_context=session.pending_context,
    ).update(pending_context="", last_activity_at=now, **bump)  # fmt: skip
    if held:
        session.last_activity_at = now
        return session, session.pending_context
    locked = session_lock(session_id=session.pk, actor=actor, states=WORKING)
    AISession.objects.filter(pk=locked.pk).update(pending_context="", last_activity_at=now, **bump)
    locked.last_activity_at = now
    return locked, locked.pending_context


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
        locked = session_lock(session_id=session.pk, actor=actor, states=WORKING)
        item = LaneItem.objects.get(pk=item.pk, session=locked)
        item.answer = answer
        item.status = LaneItem.Status.ANSWERED
        item.answered_at = timezone.now()
        item.answered_by = actor
        item.reported_in_step = None  # a changed answer is reported again
        item.save(update_fields=["answer", "status", "answered_at", "answered_by", "reported_in_step"])
        AISession.objects.filter(pk=locked.pk).update(last_activity_at=timezone.now())
        # An answered check changes what a preview is drafted from (SPEC §6).
        session_bump_state_version(session_id=locked.pk)
    return item
