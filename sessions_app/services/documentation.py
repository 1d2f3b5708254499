"""The session documentation written at Resolve (SPEC §2): problem, intake summary, each step with
the engineer's response and outcome, resolution, duration. Built from the record, not the AI."""

from sessions_app.models import AISession, SessionStep


def _duration(session: AISession) -> str:
    minutes = int(session.duration.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def session_documentation(session: AISession, steps: list[SessionStep]) -> str:
    lines = [
        f"# {session.problem_summary or 'Troubleshooting session'}",
        "",
        f"- Engineer: {session.owner.get_full_name()}",
        f"- Ticket: {session.ticket_label or 'none'}",
        f"- Domain: {session.get_problem_domain_display()} · Urgency: {session.get_urgency_display()}",
        f"- Started: {session.created_at:%Y-%m-%d %H:%M} UTC · Duration: {_duration(session)}",
        "",
        "## Problem",
        "",
        session.problem_summary,
        "",
        "## Intake",
        "",
    ]
    intake = session.intake_content.strip() or "(no text)"
    lines += (
        ["```", intake[:4000], "```", ""] if session.intake_type == AISession.IntakeType.LOG else [intake[:4000], ""]
    )
    if session.key_symptoms:
        lines += ["Key symptoms: " + "; ".join(session.key_symptoms), ""]
    lines += ["## Steps", ""]
    for step in steps:
        lines.append(f"{step.order}. **{step.get_step_type_display()}** — {step.title}")
        if step.answered:
            lines.append(f"   - Response: {step.response_label}")
        else:
            lines.append("   - Response: (none)")
    if not steps:
        lines.append("(no steps)")
    lines += ["", "## Resolution", "", session.resolution_summary]
    if session.resolution_action:
        lines += ["", f"Action taken: {session.resolution_action}"]
    lines += ["", f"Resolved in {_duration(session)} over {len(steps)} step{'s' if len(steps) != 1 else ''}.", ""]
    return "\n".join(lines)
