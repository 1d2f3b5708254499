"""Demo-mode answers for sessions: the offline AI that leads a plausible troubleshooting session
and listens to the engineer. Registered with the AI door's demo provider; imported by
sessions_app.prompts.

How a demo turn is made (stateless: everything is read back from the conversation):
- Classification reads the intake's own words. A known problem (eight scenarios) gets its
  title; anything else a summary made from the intake itself, and a domain from its words.
- A session guided by a team flow walks that flow's tree in order, taking the branch the
  engineer's answer names; a free-text answer or a skip departs from the flow.
- Otherwise a scenario asks its opening questions, then works through its hypotheses in the
  order the answers point to: each hypothesis's checks, then its fix. A fix that did not work
  rules its hypothesis out, and no fix is ever proposed twice; when every hypothesis is out,
  the demo says so and suggests escalating.
- What a fix says about why it fits quotes what the session established (the engineer's
  answers), never a cause nobody confirmed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from resolutionflow.ai import demo
from sessions_app.demo_scenarios import (
    BLOCKED,
    CHANGE_WORDS,
    DOMAIN_WORDS,
    GENERIC,
    LOG_LINE,
    PROBLEM_LINE,
    SCENARIOS,
    URGENT,
    Hypothesis,
    Scenario,
    Step,
    act,
    ask,
    propose,
    step_text,
)
from sessions_app.models import SuggestedFix


def _scenario_for(text: str) -> Scenario:
    scored = [(scenario.score(text), -index, scenario) for index, scenario in enumerate(SCENARIOS)]
    best = max(scored, key=lambda item: item[:2])
    return best[2] if best[0] > 0 else GENERIC


def _summary_from(intake: str) -> str:
    """A one-line summary in the intake's own words: its first sentence or, for a pasted log, its
    first line that reports a problem (without the time stamp)."""
    lines = [line.strip() for line in intake.splitlines() if line.strip()]
    if not lines:
        return "New problem"
    if sum(1 for line in lines if LOG_LINE.match(line)) >= max(1, len(lines) // 2):
        line = next((line for line in lines if PROBLEM_LINE.search(line)), lines[0])
        line = re.sub(r"^\s*[\[(]?[\d\-/.:T ,Z+]+[\])]?\s*", "", line)
        text = "Log: " + line
    else:
        text = re.split(r"(?<=[.!?])\s", " ".join(lines), maxsplit=1)[0]
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= 120 else text[:119].rstrip() + "…"


def _domain_from(intake: str) -> str:
    return next((domain for domain, pattern in DOMAIN_WORDS if re.search(pattern, intake, re.I)), "other")


def _message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(block.get("text", "") for block in content if isinstance(block, dict))


def _fenced(text: str, source: str) -> list[str]:
    return re.findall(rf'<data source="{source}"[^>]*>\n(.*?)\n</data>', text, re.DOTALL)


def _intake_of(text: str) -> str:
    found = _fenced(text, "intake")
    return found[0] if found else text


@demo.responder("session_classify")
def demo_classify(request) -> dict:
    intake = _intake_of(_message_text(request.messages[0]))
    scenario = _scenario_for(intake)
    urgency = scenario.urgency
    if URGENT.search(intake):
        urgency = "critical" if scenario is GENERIC or urgency == "high" else "high"
    elif scenario is GENERIC and BLOCKED.search(intake):
        urgency = "high"
    claims = scenario.summary and (scenario.summary_when is None or re.search(scenario.summary_when, intake, re.I))
    summary = scenario.summary if claims else _summary_from(intake)
    symptoms = [*scenario.symptoms] or [summary[:60]]
    return {
        "summary": summary,
        "domain": scenario.domain if scenario is not GENERIC else _domain_from(intake),
        "urgency": urgency,
        "key_symptoms": symptoms,
    }


# --- reading the conversation back -------------------------------------------------------------

_LANE_ANSWER = re.compile(r"^((?:Q|C)\d+) (.+?) → (.+)$", re.MULTILINE)
_WORKED = re.compile(r"\b(that )?(fixed|worked|works now|working now|resolved|sorted)\b", re.I)
_FAILED = re.compile(
    r"\b(did ?n[o']t|does ?n[o']t|not) (work|fix|help)|\bstill\b|no (luck|change|difference)|same (problem|issue)",
    re.I,
)
_RESULT = re.compile(r"^Result: (worked|did not work)\.(?:\nDetails: (.*))?", re.DOTALL)
# What fix_record_outcome tells the AI when the engineer records a fix's outcome in the banner.
_RECORDED = re.compile(r"recorded the suggested fix “(.+?)” as: (did not work|partly worked|worked)")


@dataclass
class Answer:
    kind: str  # option | free_text | skipped | worked | failed | none
    value: str = ""  # the option's value
    text: str = ""  # free text, an option's note, a result's details


@dataclass
class History:
    """What the conversation so far says: the steps given (by text) and how each was answered."""

    intake: str
    flow: dict | None
    given: list[tuple[dict, Answer | None]]  # (the step as sent, its answer)
    proposed: set[str]  # fix titles proposed so far
    failed_fixes: set[str]  # fix titles that did not work (or only partly)
    worked_fixes: set[str]
    said: str  # everything the engineer wrote, for routing by keywords and for fix variants
    lane_answers: list[tuple[str, str, str]]  # the newest answer's lane answers (id, question, answer)
    lane_all: list[tuple[str, str, str]]  # every lane answer so far
    handed_over: bool
    fresh: str = ""  # the fresh context a colleague who picked the session up started from
    last_worked: str = ""  # the fix that worked most recently


def _answer_of(step: dict, message: str) -> Answer:
    engineer = _fenced(message, "engineer")
    said = engineer[0] if engineer else ""
    if said.startswith("(Not answered"):
        return Answer("none")
    result = _RESULT.match(said)
    if result:
        return Answer("worked" if result.group(1) == "worked" else "failed", text=result.group(2) or "")
    if said.startswith("Skipped:"):
        return Answer("skipped", text=said.partition("\nNote: ")[2])
    if said.startswith("Picked: "):
        label, _, note = said[len("Picked: ") :].partition("\nNote: ")
        options = (step.get("question") or {}).get("options") or []
        value = next((o["value"] for o in options if o["label"] == label), label)
        return Answer("option", value=value, text=note)
    return Answer("free_text", text=said)


_k = SuggestedFix.clean_title  # how a fix is known: its title as the session records it
_FOLLOWUP = re.compile(r"^Did “(.+)” help\?$")


def _decided(history: History, title: str, *, worked: bool) -> None:
    title = _k(title)
    if worked:
        history.worked_fixes.add(title)
        history.failed_fixes.discard(title)
        history.last_worked = title
    else:
        history.failed_fixes.add(title)
        history.worked_fixes.discard(title)
        if history.last_worked == title:
            history.last_worked = ""


def _read(messages: list[dict]) -> History:
    first = _message_text(messages[0])
    flows = _fenced(first, "flow")
    flow = None
    if flows:
        found = re.search(r"^Tree: (\{.*\})$", flows[0], re.MULTILINE)
        try:
            flow = json.loads(found.group(1)) if found else None
            flow = {"title": re.search(r"^Title: (.*)$", flows[0], re.MULTILINE).group(1), "tree": flow}
        except (ValueError, AttributeError):
            flow = None
    history = History(
        intake=_intake_of(first), flow=flow, given=[], proposed=set(), failed_fixes=set(), worked_fixes=set(),
        said="", lane_answers=[], lane_all=[], handed_over=False,
    )  # fmt: skip
    said: list[str] = []
    for index, message in enumerate(messages[1:], 1):
        text = _message_text(message)
        if message["role"] == "assistant":
            try:
                turn = json.loads(text)
            except ValueError:
                continue
            history.given.append((turn.get("step") or {}, None))
            if isinstance(turn.get("fix"), dict):
                history.proposed.add(_k(turn["fix"].get("title", "")))
            continue
        if not history.given:
            continue
        step, _ = history.given[-1]
        answer = _answer_of(step, text)
        history.given[-1] = (step, answer)
        said.append(answer.text)
        fenced = _fenced(text, "engineer")
        said.extend(fenced[1:])  # lane answers and fresh context
        lanes = _LANE_ANSWER.findall(fenced[1]) if len(fenced) > 1 and "task lane" in text else []
        said.extend(answer for _, _, answer in lanes)
        history.lane_all.extend(lanes)
        if index == len(messages) - 1:
            history.lane_answers = lanes
        for title, outcome in _RECORDED.findall(text):
            _decided(history, title, worked=outcome == "worked")
        if "picked up by another engineer" in text:
            history.handed_over = True
            fresh = re.search(
                r'fresh context; plan your next step.*?<data source="engineer">\n(.*?)\n</data>', text, re.S
            )
            history.fresh = fresh.group(1) if fresh else history.fresh
        followup = _FOLLOWUP.match(step_text(step))
        if step.get("type") == "resolution_suggestion" or followup:
            fix = followup.group(1) if followup else step["resolution"]["fix"]
            if answer.kind == "failed" or (answer.kind == "free_text" and _FAILED.search(answer.text)):
                _decided(history, fix, worked=False)
            elif answer.kind == "worked" or (answer.kind == "free_text" and _WORKED.search(answer.text)):
                _decided(history, fix, worked=True)
            elif answer.kind == "option" and answer.value in ("fixed", "not_fixed"):
                _decided(history, fix, worked=answer.value == "fixed")
    history.said = " ".join(filter(None, said))
    return history


# --- the next turn ----------------------------------------------------------------------------


@dataclass
class Plan:
    """The turn being built."""

    step: dict
    confidence: float
    reasoning: str
    fix: dict | None = None
    lane: dict = field(default_factory=lambda: {"questions": [], "checks": []})


def _asked(history: History, text: str) -> Answer | None | bool:
    """The answer to the step with this text; False when it was never given."""
    for step, answer in history.given:
        if step_text(step) == text:
            return answer
    return False


def _walk_flow(history: History) -> Plan | None:
    """The next node of the matched flow, taking the branch the engineer's answer names; None once
    the walk departs from the flow (a free-text answer, a skip, a fix that did not work)."""
    tree = (history.flow or {}).get("tree") or {}
    nodes = {n.get("id"): n for n in tree.get("nodes", []) if isinstance(n, dict)}
    node, path = nodes.get(tree.get("start")), []
    flow_title = history.flow["title"] if history.flow else ""
    while node is not None:
        text = node.get("text", "")
        kind = node.get("type")
        answer = _asked(history, text if kind != "resolution" else _fix_title_of(text))
        if answer is False:
            return _flow_step(node, flow_title, path)
        if answer is None:
            return None  # given, not answered yet: the caller will not ask for a turn here
        if kind == "resolution":
            title = _fix_title_of(text)
            if _k(title) in history.failed_fixes:
                return None  # the flow's fix did not work: depart
            followup = _followup(title)
            if _asked(history, step_text(followup)) is False:
                return Plan(followup, 0.7, f"The flow “{flow_title}” ended here; did its fix help?")
            return None
        if kind == "question":
            options = node.get("options") or []
            chosen = next((o for o in options if answer.kind == "option" and _option_value(o) == answer.value), None)
            if chosen is None:
                return None  # answered in the engineer's own words: depart from the flow
            path.append(f"{text} → {chosen['label']}")
            node = nodes.get(chosen.get("next"))
        elif kind == "instruction":
            path.append(f"{text} → done")
            node = nodes.get(node.get("next"))
    return None


def _option_value(option: dict) -> str:
    return re.sub(r"[^a-z0-9]+", "_", option.get("label", "").lower()).strip("_")[:80] or "option"


def _fix_title_of(text: str) -> str:
    return " ".join(text.split())[:200]


def _flow_step(node: dict, title: str, path: list[str]) -> Plan:
    why = f"The next step of the team's flow “{title}”."
    depth = len(path)
    if node.get("type") == "question":
        options = [(o.get("label", ""), _option_value(o)) for o in node.get("options") or []]
        return Plan(ask(node["text"], why, options), min(0.5 + 0.1 * depth, 0.8), f"Following the flow “{title}”.")
    if node.get("type") == "instruction":
        return Plan(
            act(node["text"], why, "The step is done as the flow describes."),
            min(0.55 + 0.1 * depth, 0.85),
            f"Following the flow “{title}”.",
        )
    fix = _fix_title_of(node["text"])
    established = "; ".join(path) or "the flow's first step"
    summary = f"The flow “{title}” leads here from your answers: {established}."
    return Plan(
        propose(fix, summary, ["Confirm with the user that the problem is gone."]),
        0.85,
        f"The flow “{title}” ends here.",
        fix={"title": fix, "description": summary, "confidence": 80},
    )


def _inferred(step: Step, history: History) -> str | None:
    """The answer value the engineer's own words already give to this question, if any."""
    return next((value for value, pattern in step.infer.items() if re.search(pattern, history.said, re.I)), None)


def _order(scenario: Scenario, history: History) -> tuple[list[Hypothesis], set[str]]:
    """The hypotheses still open, in the order the answers point to, and those ruled out."""
    order = list(scenario.hypotheses)
    out: set[str] = set()
    steps = {s.text: s for s in _all_steps(scenario)}
    given = list(history.given)
    for step in steps.values():
        value = _inferred(step, history) if _asked(history, step.text) is False else None
        if value is not None:
            given.insert(0, (step.turn, Answer("option", value=value)))
    for given_step, answer in given:
        step = steps.get(step_text(given_step))
        if step is None or answer is None:
            continue
        if answer.kind == "option":
            first = step.routes.get(answer.value, ())
            order.sort(key=lambda h: first.index(h.key) if h.key in first else len(first))
            out.update(step.rules_out.get(answer.value, ()))
        if answer.text:
            named = [h for h in order if h.keywords and re.search(h.keywords, answer.text, re.I)]
            order = named + [h for h in order if h not in named]
    if history.fresh:  # a colleague's fresh start leads, like an answer given just now
        named = [h for h in order if h.keywords and re.search(h.keywords, history.fresh, re.I)]
        order = named + [h for h in order if h not in named]
    for hypothesis in scenario.hypotheses:
        if {_k(t) for t in hypothesis.fix.titles()} & history.failed_fixes:
            out.add(hypothesis.key)
    return [h for h in order if h.key not in out], out


def _all_steps(scenario: Scenario) -> list[Step]:
    steps = list(scenario.opening)
    for hypothesis in scenario.hypotheses:
        steps.extend(hypothesis.checks)
        if hypothesis.apply:
            steps.append(hypothesis.apply)
    return steps


def _established(scenario: Scenario, history: History) -> list[str]:
    """What the session established, as 'question → answer' in the engineer's words."""
    lines = []
    for given, answer in history.given:
        if given.get("type") != "question" or answer is None or answer.kind not in ("option", "free_text"):
            continue
        options = {o["value"]: o["label"] for o in given["question"].get("options") or []}
        said = options.get(answer.value, answer.text) if answer.kind == "option" else answer.text
        lines.append(f"{step_text(given).rstrip('?')}: {' '.join(said.split())[:160].rstrip(' .')}")
    lines += [
        f"{question.rstrip('?')}: {' '.join(answer.split())[:160].rstrip(' .')}"
        for _, question, answer in history.lane_all
    ]
    return lines


def _fill(template: str, scenario: Scenario, history: History) -> str | None:
    """A generic fix's title with the engineer's words in it; None when they never said them."""
    steps = {s.key: s for s in _all_steps(scenario)}
    values = {}
    for key in re.findall(r"\{(\w+)\}", template):
        answer = _asked(history, steps[key].text)
        said = answer.text if isinstance(answer, Answer) and answer.kind == "free_text" else ""
        if key == "since" and not CHANGE_WORDS.search(said):
            return None  # nothing changed, or they did not say: this lead does not exist
        if not said.strip():
            return None
        values[key] = "“" + " ".join(said.split())[:120].rstrip(".") + "”"
    return template.format(**values)


def _plan_scenario(scenario: Scenario, history: History) -> Plan:
    open_hypotheses, ruled_out = _order(scenario, history)
    established = _established(scenario, history)
    failed = [
        h
        for h in scenario.hypotheses
        if {_k(t) for t in h.fix.titles()} & history.failed_fixes
        or _k(_title(h, scenario, history) or "") in history.failed_fixes
    ]
    ruled = " Ruled out so far: " + "; ".join(h.name for h in failed) + "." if failed else ""
    keys = {s.text: s.key for s in _all_steps(scenario)}
    done = {keys.get(step_text(given)) for given, _ in history.given}

    def plan(step: Step, hypothesis: Hypothesis | None, *, fix: dict | None = None, leading: bool = True) -> Plan:
        lead = f"Leading hypothesis: {hypothesis.name}." if hypothesis and leading else "Narrowing down the cause."
        lowered = max(0.15, step.confidence - 0.15 * len(failed))
        # The lane: what is still open for the leading hypothesis and the next one; nothing is
        # left to check once a fix is suggested.
        sources: list = [scenario]
        for source in [hypothesis, *open_hypotheses]:
            if source is not None and len(sources) < 3 and all(source is not s for s in sources):
                sources.append(source)
        if step.turn["type"] == "resolution_suggestion":
            sources = []
        settled = done | {step.key}
        questions = [item for source in sources for item in source.lane[0] if _still_open(item, settled)]
        checks = [item for source in sources for item in source.lane[1] if _still_open(item, settled)]
        return Plan(step.turn, lowered, lead + ruled, fix=fix, lane=_lane(questions, checks, history))

    leading = open_hypotheses[0] if open_hypotheses else None
    for step in scenario.opening:
        if _asked(history, step.text) is False and _inferred(step, history) is None:
            return plan(step, leading, leading=step is not scenario.opening[0])
    for hypothesis in open_hypotheses:
        for check in hypothesis.checks:
            if _asked(history, check.text) is False and _inferred(check, history) is None:
                return plan(check, hypothesis)
        title = _title(hypothesis, scenario, history)
        if title is None or _k(title) in history.failed_fixes:
            continue
        fix = None
        if not {_k(t) for t in (title, *hypothesis.fix.titles())} & history.proposed:
            fix = _fix_payload(hypothesis, title, established)
        if hypothesis.apply and _asked(history, hypothesis.apply.text) is False:
            return plan(hypothesis.apply, hypothesis, fix=fix)
        apply_answer = _asked(history, hypothesis.apply.text) if hypothesis.apply else False
        if isinstance(apply_answer, Answer) and apply_answer.kind == "failed":
            continue  # carrying the fix out did not work: this hypothesis is out
        resolution = _asked(history, title)
        if resolution is False:
            summary = _why(hypothesis, established)
            step = propose(title, summary, hypothesis.fix.follow_ups)
            base = Step(f"{hypothesis.key}:fix", step, 0.8)
            return plan(base, hypothesis, fix=fix)
        # Given, and answered neither way (skipped, unclear): ask once how it went, then move on.
        followup = _followup(title)
        if _asked(history, step_text(followup)) is False:
            return plan(Step(f"{hypothesis.key}:followup", followup, 0.7), hypothesis)
    return _escalate(scenario, history, failed, ruled_out)


def _title(hypothesis: Hypothesis, scenario: Scenario, history: History) -> str | None:
    """The fix's title as it reads in this session (None: a generic lead the engineer never gave)."""
    fix = hypothesis.fix
    return _fill(fix.title, scenario, history) if "{" in fix.title else fix.title_for(history.said)


def _followup(title: str) -> dict:
    return ask(
        f"Did “{_k(title)}” help?",
        "Knowing whether the fix held decides between closing and the next lead.",
        (("Yes, it's fixed", "fixed"), ("No, same problem", "not_fixed"), ("Haven't tried it", "untried")),
    )


def _fix_payload(hypothesis: Hypothesis, title: str, established: list[str]) -> dict:
    return {
        "title": title[:200],
        "description": _why(hypothesis, established),
        "confidence": 75,
        "script_template": hypothesis.fix.template,
        "script_parameters": None,
    }


def _why(hypothesis: Hypothesis, established: list[str]) -> str:
    found = (" What the session established: " + "; ".join(established) + ".") if established else ""
    return hypothesis.fix.why + found


def _still_open(item: tuple[str, ...], settled: set) -> bool:
    """A lane item (text, why[, key of the step that settles it]) not settled yet."""
    return len(item) < 3 or item[2] not in settled


def _lane(questions, checks, history: History) -> dict:
    """Open lane items, once each: those the engineer has not answered in the lane yet."""
    answered = {question.strip().lower() for _, question, _ in history.lane_all}

    def items(pairs):
        texts = dict.fromkeys(item[:2] for item in pairs if item[0].lower() not in answered)
        return [{"text": text, "why": why} for text, why in texts]

    return {"questions": items(questions), "checks": items(checks)}


def _wrap_up(title: str, history: History) -> Plan:
    step = act(
        f"Confirm with the user that the problem is gone after “{_k(title)}”, then resolve the session and say "
        "what fixed it.",
        "A fix the user has confirmed is the one to write up.",
        "The user confirms it works.",
        kind="verification",
    )
    if _asked(history, step_text(step)) is False:
        return Plan(step, 0.9, "The fix worked.")
    return Plan(
        ask(
            "Anything else to check before you resolve the session?",
            "Resolve when nothing is left; the note will carry what fixed it.",
            free=True,
        ),
        0.9,
        "The fix worked.",
    )


def _escalate(scenario: Scenario, history: History, failed: list[Hypothesis], ruled_out: set[str]) -> Plan:
    """No lead left: say what was ruled out and why, and suggest escalating (a question, so the
    engineer can still bring new evidence in their own words)."""
    reasons = [f"{h.name} (its fix did not work)" for h in failed]
    reasons += [f"{h.name} (your answers)" for h in scenario.hypotheses if h.key in ruled_out and h not in failed]
    done = "; ".join(reasons)
    text = (
        f"I have no lead left that fits what we found: ruled out {done}. Escalate this session (the package "
        "lists what was tried), or tell me what you see now?"
        if reasons
        else "I have no lead left that fits what we found. Escalate this session (the package lists what was "
        "tried), or tell me what you see now?"
    )
    why = "A colleague with fresh eyes, or access we lack, is the fastest next step; new evidence is the other."
    if _asked(history, text) is False:
        return Plan(
            ask(text, why),
            0.2,
            "No hypothesis left that fits what we found." + (f" Ruled out: {done}." if done else ""),
        )
    count = sum(1 for s, _ in history.given if step_text(s).startswith("What have you found since"))
    return Plan(
        ask(
            f"What have you found since{' then' if count else ''}? Describe what you see now"
            + (" (an error, a log line, a change)." if count % 2 == 0 else ", in as much detail as you can."),
            "New evidence is the only way forward from here.",
            free=True,
        ),
        0.2,
        "Waiting for new evidence.",
    )


@demo.responder("session_turn")
def demo_turn(request) -> dict:
    history = _read(request.messages)
    plan = None
    if history.last_worked:
        plan = _wrap_up(history.last_worked, history)
    elif history.flow:
        plan = _walk_flow(history)
    if plan is None:
        plan = _plan_scenario(_scenario_for(history.intake), history)
    if plan.fix and _k(plan.fix["title"]) in history.proposed | history.failed_fixes:
        plan.fix = None  # never propose a fix twice, and never one that failed
    turn: dict[str, Any] = {
        "step": plan.step,
        "confidence": round(plan.confidence, 2),
        "reasoning": plan.reasoning,
        "lane": plan.lane,
    }
    if plan.fix:
        turn["fix"] = {"script_template": None, "script_parameters": None, **plan.fix}
    # Lane answers reported since the last step become facts, resting on their lane item.
    turn["promote_facts"] = [
        {"text": f"{answer.strip().rstrip('.')}.", "summary": f"answers {ref}", "source_ref": ref}
        for ref, _question, answer in history.lane_answers
    ] or None
    hint = _similar_hint(request.messages) if not history.given else ""
    if hint:
        # A session solved before is named as a hint only: nothing in this session confirms it yet.
        turn["reasoning"] = (
            f"{turn['reasoning']} Hint, not established here: a similar session was resolved before (“{hint}”)."
        )
    last = history.given[-1] if history.given else None
    if last and last[1] is not None and last[1].kind == "free_text":
        # Outcome read from the engineer's words while a fix is being verified: for one click.
        if _WORKED.search(last[1].text) and not _FAILED.search(last[1].text):
            turn["proposed_outcome"] = {"status": "applied_success", "note": "You wrote that it worked."}
        elif _FAILED.search(last[1].text):
            turn["proposed_outcome"] = {"status": "applied_failed", "note": "You wrote that it did not work."}
    return turn


def _similar_hint(messages: list[dict]) -> str:
    """The summary of the first "Solved before" hint the session's first message carries, if any."""
    found = _fenced(_message_text(messages[0]), "similar_sessions") if messages else []
    try:
        hints = json.loads(found[0]) if found else []
    except ValueError:
        return ""
    return str(hints[0].get("summary") or "") if hints and isinstance(hints[0], dict) else ""


# --- the script builder ----------------------------------------------------------------------

_SCRIPT_BODIES = (
    # (words that pick it, the script). Placeholders stand where code stands: each is put in a
    # variable first, and strings use the variable (SPEC §5: a placeholder in a string is refused).
    (
        ("unlock", "locked", "lockout"),
        "Import-Module ActiveDirectory\n"
        "$name = {{ user_name }}\n"
        "$user = Get-ADUser -Identity $name -Properties LockedOut, BadLogonCount\n"
        'Write-Host "$($user.SamAccountName): locked out $($user.LockedOut), bad logons $($user.BadLogonCount)."\n'
        'if (-not $user.LockedOut) { Write-Host "Not locked out: nothing to unlock."; return }\n'
        "Unlock-ADAccount -Identity $user\n"
        'Write-Host "Unlocked $($user.SamAccountName)."',
    ),
    (
        ("credential", "password prompt", "outlook"),
        "$entries = cmdkey /list | Select-String 'MicrosoftOffice16' | ForEach-Object { ($_ -split 'target=')[1] }\n"
        "if (-not $entries) { Write-Host 'No cached Office credentials found.'; return }\n"
        "Write-Host \"Cached Office credentials: $($entries -join ', ')\"\n"
        'foreach ($target in $entries) { cmdkey /delete:$target | Out-Null; Write-Host "Removed $target" }',
    ),
    (
        ("spooler", "printer", "print queue", "print"),
        "$computer = {{ computer_name }}\n"
        "$service = Get-Service -ComputerName $computer -Name Spooler\n"
        'Write-Host "Spooler is $($service.Status) on $computer."\n'
        "Restart-Service -InputObject $service -Force\n"
        "Get-Printer -ComputerName $computer | Select-Object Name, PrinterStatus",
    ),
    (
        ("vpn", "tunnel"),
        "$gateway = {{ vpn_gateway }}\n"
        "Get-VpnConnection | Select-Object Name, ServerAddress, ConnectionStatus\n"
        "Test-NetConnection -ComputerName $gateway -Port 443 | Select-Object RemoteAddress, TcpTestSucceeded",
    ),
)


@demo.responder("script_draft")
def demo_script_draft(request) -> dict:
    """A script built from the fix and shaped by the engineer's request; a current draft is revised,
    not replaced. The demo understands a cmdlet to use ("use Get-Printer"), a computer ("on PRN-01"),
    "only check" (what changes things is left out), "dry run" (-WhatIf), "log it" (a transcript) and
    "stop on errors"; what it cannot do is said plainly in the explanation, never silently ignored."""
    text = _message_text(request.messages[0])

    def fenced(source: str) -> str | None:
        found = re.search(rf'<data source="{source}">\n(.*?)\n</data>', text, re.DOTALL)
        return found.group(1) if found else None

    fix_text, draft = fenced("fix") or "", fenced("engineer_draft")
    wish = " ".join((fenced("engineer") or "").split())
    if wish == "A script that applies the fix.":  # what the prompt says when the engineer asked nothing
        wish = ""
    title = re.search(r'"title": "(.*?)"', fix_text)
    purpose = (title.group(1) if title else "the suggested fix").replace("{", "(").replace("}", ")")
    header = "$ErrorActionPreference = 'Stop'"
    done, not_done, rest = [], [], wish

    def take(pattern: str, flags: int = re.IGNORECASE) -> list[re.Match]:
        """The request's matches of `pattern`, removed from what is left to understand."""
        nonlocal rest
        found = list(re.finditer(pattern, rest, flags))
        rest = re.sub(pattern, " ", rest, flags=flags)
        return found

    change = re.compile(
        r"^\s*((Restart|Stop|Start|Set|Remove|Clear|Reset|Unlock|Enable|Disable|New|Add|Install|Uninstall|Rename|"
        r"Move|Suspend|Resume)-\w+|.*cmdkey\s+/delete)",
        re.IGNORECASE,
    )
    verbs = "Get|Test|Resolve|Measure|Find|Restart|Stop|Start|Set|Remove|Clear|Reset|Unlock|Enable|Disable|New|Add"
    cmdlets = [m.group(1) for m in take(rf"\b((?:{verbs}|Invoke|Update)-[A-Za-z][A-Za-z0-9]+)\b")]
    # "on PRN-01", "against 10.0.0.5", "on DC01": a name with a digit or a dot in it, or in capitals.
    host = r"(?=[\w.-]*[\d.])[A-Za-z0-9][\w.-]*[A-Za-z0-9]|[A-Z][A-Z0-9-]{2,}"
    hosts = [m.group(1) for m in take(rf"\b(?i:on|against|at|for)\s+({host})\b", flags=0)]
    only_checks = bool(
        take(
            r"\b(?:(?:only|just)\s+(?:check|read|look|report)\w*|check[- ]only|read[- ]only|no changes?|"
            r"(?:don'?t|do not|never|without)\s+(?:restart|chang|unlock|delet|remov|touch|fix|clear)\w*"
            r"(?:\s+(?:anything|it|them))?)"
        )
    )
    dry_run = bool(take(r"\b(?:dry[- ]?run|what-?if|simulat\w*)\b"))
    logged = bool(take(r"\b(?:log(?:s|ging)?(?: it)?|transcript|record (?:it|what it does))\b"))
    # Stopping at the first error it always does (the header); said in every explanation.
    take(r"\b(?:stop|fail|halt)\s+(?:on|at)\s+(?:the\s+first\s+)?(?:errors?|failures?)|fail fast\b")

    if draft is not None:
        body, base = draft.strip(), "Your draft, revised: it stops at the first error."
    else:
        pick = next((b for words, b in _SCRIPT_BODIES if any(w in wish.lower() for w in words)), None)
        pick = pick or next((b for words, b in _SCRIPT_BODIES if any(w in fix_text.lower() for w in words)), None)
        body = pick or "Write-Host 'Check the state before changing it.'"
        base = "Reads the current state first and stops at the first error."
    lines = [line for line in body.splitlines() if line.strip() != header]

    host = hosts[0] if hosts else None
    if host:
        keys = [k for k in dict.fromkeys(re.findall(r"\{\{\s*(\w+)\s*\}\}", "\n".join(lines)))
                if re.search(r"computer|server|host|machine|gateway|device", k, re.IGNORECASE)]  # fmt: skip
        if keys:
            lines = [re.sub(r"\{\{\s*" + keys[0] + r"\s*\}\}", f"'{host}'", line) for line in lines]
            done.append(f"it runs against {host} (no {keys[0]} to fill in)")
            host = None
    for cmdlet in dict.fromkeys(cmdlets):
        if any(cmdlet.lower() in line.lower() for line in lines):
            done.append(f"it uses {cmdlet}")
            continue
        target = next((m.group(1) for line in lines
                       if (m := re.match(r"\$(\w+) = (?:'[^']*'|\{\{\s*\w+\s*\}\})$", line.strip()))
                       and re.search(r"computer|server|host|gateway", m.group(1), re.IGNORECASE)), None)  # fmt: skip
        call = f"{cmdlet} -ComputerName ${target}" if target else cmdlet
        if host and not target:
            call, host = f"{cmdlet} -ComputerName '{hosts[0]}'", None
        if change.match(call):
            lines.append(call)
        else:
            first_change = next((i for i, line in enumerate(lines) if change.match(line)), len(lines))
            lines.insert(first_change, call)
        done.append(f"it calls {call} (check its parameters before you run it)")
    if host:
        not_done.append(f"pointing it at {host} (this script has no computer to aim at)")

    def named(line: str) -> str:
        return "cmdkey /delete" if "cmdkey" in line else re.split(r"[\s(]", line.strip(), maxsplit=1)[0]

    if only_checks:
        left_out = [named(line) for line in lines if change.match(line)]
        lines = [line for line in lines if not change.match(line)]
        if left_out:
            done.append(f"it only checks: what changes things is left out ({', '.join(dict.fromkeys(left_out))})")
        else:
            done.append("it only checks (it changed nothing anyway)")
    elif dry_run:
        cmdlet_changes = [i for i, line in enumerate(lines) if change.match(line) and re.match(r"\s*\w+-\w+", line)]
        others = [named(line) for line in lines if change.match(line) and not re.match(r"\s*\w+-\w+", line)]
        for i in cmdlet_changes:
            if "-WhatIf" not in lines[i]:
                lines[i] = f"{lines[i]} -WhatIf"
        if cmdlet_changes:
            done.append("the changes only say what they would do (-WhatIf)")
        if others:
            lines = [line for line in lines if not (change.match(line) and not re.match(r"\s*\w+-\w+", line))]
            done.append(f"{', '.join(dict.fromkeys(others))} has no dry run, so it is left out")
        if not cmdlet_changes and not others:
            done.append("a dry run (it changed nothing anyway)")
    if logged:
        lines = ["$log = {{ log_path }}", "Start-Transcript -Path $log", *lines, "Stop-Transcript"]
        done.append("it records a transcript at log_path")

    known = set(
        re.findall(
            r"[a-z']+",
            "a an the and or to of on in for with it its this that then first please just only use using run runs "
            "script do don't dont not no be is are from by as at into before after when if also make sure can "
            "should would i we you me my our your them they their up check checks checking one all each every "
            "out via it's what",
        )
    )
    known |= {w for words, _ in _SCRIPT_BODIES for phrase in words for w in phrase.split()}
    known |= set(re.findall(r"[a-z0-9']+", f"{fix_text} {' '.join(lines)}".lower()))
    leftover = [w for w in dict.fromkeys(re.findall(r"[a-z0-9']+", rest.lower())) if w not in known and len(w) > 2]
    if leftover:
        not_done.append(f"“{' '.join(leftover[:6])}” in your request (the demo builder does not understand it)")

    script = "\n".join([f"# {purpose}", header, *lines] if draft is None else [header, *lines])
    placeholders = list(dict.fromkeys(re.findall(r"\{\{\s*(\w+)\s*\}\}", script)))
    explanation = base
    if done:
        explanation += " As you asked: " + "; ".join(done) + "."
    if placeholders:
        explanation += " Fill in " + ", ".join(placeholders) + " when you run it."
    if not_done:
        explanation += " Not done: " + "; ".join(not_done) + ". Edit the script for that."
    return {"script": script, "explanation": explanation[:600]}
