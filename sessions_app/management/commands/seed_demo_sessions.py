"""Demo data for the flywheel: a published team flow and resolved sessions of the demo account, worked
through the real services with the offline demo AI (whatever AI the deployment has), so the first
analysis (`manage.py analyse_sessions`, or the beat) proposes a new flow, an enhancement of the flow,
and reinforces it. Idempotent: once the demo account has resolved sessions, it does nothing."""

from django.core.management.base import BaseCommand
from django.test import override_settings

from flywheel_app.models import Flow
from resolutionflow.accounts.models import Account, User
from sessions_app.models import AISession, SessionStep
from sessions_app.services import intake, lifecycle, turns

SHARED_MAILBOX_FLOW = {
    "start": "owa",
    "nodes": [
        {"id": "owa", "type": "question", "text": "Does the shared mailbox open in Outlook on the web?",
         "options": [{"label": "It opens", "next": "when"}, {"label": "Access denied", "next": "grant"}]},
        {"id": "when", "type": "question", "text": "Was access granted in the last two hours?",
         "options": [{"label": "Yes", "next": "wait"}, {"label": "No", "next": "profile"}]},
        {"id": "grant", "type": "instruction",
         "text": "Grant the user Full Access to the shared mailbox in the Exchange admin center.", "next": "restart"},
        {"id": "restart", "type": "resolution", "text": "Restart Outlook once the permission has synced"},
        {"id": "wait", "type": "resolution", "text": "Wait up to two hours for the permission to sync"},
        {"id": "profile", "type": "resolution", "text": "Re-create the user's Outlook profile"},
    ],
}  # fmt: skip

# (intake, answers, resolution): an answer is an option label, ("free", text), or ("worked", yes/no).
SESSIONS = [
    (
        "The printer in reception shows offline for Sam since this morning",
        ["Only this user", ("worked", True), ("worked", False), ("worked", True), ("worked", True)],
        "Restarted the Print Spooler on the print server and cleared two stuck jobs.",
    ),
    (
        "Jane can't see the Sales shared mailbox in Outlook",
        ["It opens", "No", ("worked", True)],
        "Re-created Jane's Outlook profile; the Sales mailbox appeared.",
    ),
    (
        "The shared mailbox for Finance is missing in Outlook for Omar",
        [("free", "OWA says access denied for the Finance mailbox"), ("worked", True), ("worked", True)],
        "Gave Omar Full Access to the Finance mailbox; it appeared after a restart of Outlook.",
    ),
]


class Command(BaseCommand):
    help = "Seed the demo account's flywheel: a published flow and resolved sessions waiting for analysis."

    @override_settings(AI_MODE="demo")
    def handle(self, *args, **options):
        account = Account.objects.get(slug="northwind-msp")
        if AISession.objects.filter(account=account, status=AISession.Status.RESOLVED).exists():
            self.stdout.write("Demo sessions already seeded.")
            return
        admin = User.objects.get(email="admin@northwind.example")
        Flow.objects.get_or_create(
            account=account, title="Shared mailbox missing in Outlook",
            defaults={"domain": "email", "keywords": ["shared mailbox missing", "shared mailbox outlook",
                                                      "can't see shared mailbox"],
                      "when_to_use": "A user cannot see a shared mailbox in desktop Outlook.",
                      "tree": SHARED_MAILBOX_FLOW, "published": True, "created_by": admin},
        )  # fmt: skip
        engineer = User.objects.get(email="dana@northwind.example")
        for text, answers, resolution in SESSIONS:
            session = intake.session_start(user=engineer, intake_type="text", intake_text=text)
            turns.session_take_turn(session=session, actor=engineer)
            for answer in answers:
                step = session.steps.order_by("-order").first()
                turns.session_answer_step(session=session, step=step, actor=engineer, **_answer(step, answer))
                turns.session_take_turn(session=session, actor=engineer)
                session.refresh_from_db()
            # Each one fixed the problem: the flywheel learns a flow from each (a duplicate would teach none).
            lifecycle.session_resolve(session=session, actor=engineer, code="fixed", summary=resolution)
        self.stdout.write(f"Seeded {len(SESSIONS)} resolved demo sessions, waiting for analysis.")


def _answer(step: SessionStep, answer) -> dict:
    if isinstance(answer, str):
        value = next(o["value"] for o in step.content["options"] if o["label"] == answer)
        return {"kind": SessionStep.ResponseKind.OPTION, "value": value}
    kind, said = answer
    if kind == "free":
        return {"kind": SessionStep.ResponseKind.FREE_TEXT, "text": said}
    return {"kind": SessionStep.ResponseKind.ACTION_RESULT, "worked": said}
