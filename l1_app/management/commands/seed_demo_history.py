"""Ninety days of history for the demo account, so every chart of the analytics page means something
(issue 14): engineer sessions across domains and confidence tiers (resolved, escalated, abandoned,
rated), some guided by published flows; suggested fixes, some failing before one works; escalations
claimed quickly, slowly, never, or claimed with no action after; ticket pushes posted, failed and
retried, or kept locally; AI usage with prompt-cache reads and writes and their cost; L1 walks of the
printer and VPN flows (the printer flow walked often enough for its path statistics) and AI-built
walks; unmatched discovery sessions that share symptoms, and a flow question often escaped by free
text, for the knowledge gaps.

Written directly with bulk_create (the history is the past: no AI is called, nothing is posted), from
a seeded random generator, so two runs on two machines give the same history. Every session and walk
of it carries a ticket reference starting with MARK; when one exists the command does nothing.
l1_app owns it because it writes walks as well as sessions (l1_app may import every app).
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from facts_app.models import AIFeedback
from flywheel_app.keywords import stored as stored_keywords
from flywheel_app.models import Flow
from l1_app import nodes
from l1_app.models import Walk, WalkStep
from resolutionflow.accounts.models import Account, Team, User
from resolutionflow.ai.client import cost_usd
from resolutionflow.ai.models import AIThrottle, AIUsage
from resolutionflow.ai.tiers import model_for, tier_for
from sessions_app.models import AISession, Escalation, SessionStep, SuggestedFix, TicketPush
from sessions_app.services.similar import sessions_search_index

ACCOUNT = "northwind-msp"
MARK = "D-"  # the ticket reference prefix of the history's sessions and walks
DAYS = 90
SEED = 14_2026
SESSIONS = 300

# --- flows ----------------------------------------------------------------------------------------

PRINTER_FLOW = {
    "start": "scope",
    "nodes": [
        {"id": "scope", "type": "question", "text": "Is the printer offline for everyone, or only for this user?",
         "options": [{"label": "Everyone", "next": "panel"}, {"label": "Only this user", "next": "default"}]},
        {"id": "panel", "type": "question", "text": "What does the printer's own display show?",
         "options": [{"label": "Paper jam or out of paper", "next": "jam"},
                     {"label": "Toner low or empty", "next": "toner"},
                     {"label": "No error, or it is dark", "next": "power"}]},
        {"id": "jam", "type": "instruction",
         "text": "Clear the jam or load paper, close every tray and wait until the display shows Ready.",
         "next": "r_jam"},
        {"id": "r_jam", "type": "resolution", "text": "Printer back online after clearing the paper path"},
        {"id": "toner", "type": "instruction",
         "text": "Replace the toner cartridge with a spare from the supply cupboard.", "next": "r_toner"},
        {"id": "r_toner", "type": "resolution", "text": "Printer back online with a new toner cartridge"},
        {"id": "power", "type": "instruction",
         "text": "Switch the printer off for 30 seconds, switch it on and wait until it shows Ready.",
         "next": "after_power"},
        {"id": "after_power", "type": "question", "text": "Does a test page print now?",
         "options": [{"label": "Yes", "next": "r_power"}, {"label": "No", "next": "r_engineer"}]},
        {"id": "r_power", "type": "resolution", "text": "Printer back online after a restart"},
        {"id": "r_engineer", "type": "resolution",
         "text": "The print server or the network is at fault: hand the ticket to an engineer"},
        {"id": "default", "type": "question", "text": "Is the office printer the default printer on this computer?",
         "options": [{"label": "No, another one is", "next": "set_default"}, {"label": "Yes", "next": "queue"}]},
        {"id": "set_default", "type": "instruction",
         "text": "Set the office printer as the default in Settings > Printers & scanners.", "next": "r_default"},
        {"id": "r_default", "type": "resolution", "text": "Prints again with the right default printer"},
        {"id": "queue", "type": "instruction",
         "text": "Open the print queue, cancel the user's own stuck jobs and restart the computer.",
         "next": "after_queue"},
        {"id": "after_queue", "type": "question", "text": "Does the printer show Ready on this computer now?",
         "options": [{"label": "Yes", "next": "r_queue"}, {"label": "No", "next": "r_engineer"}]},
        {"id": "r_queue", "type": "resolution", "text": "Prints again after clearing the stuck jobs"},
    ],
}  # fmt: skip

VPN_FLOW = {
    "start": "internet",
    "nodes": [
        {"id": "internet", "type": "question", "text": "Do websites open with the VPN disconnected?",
         "options": [{"label": "Yes", "next": "client"}, {"label": "No", "next": "r_isp"}]},
        {"id": "r_isp", "type": "resolution", "text": "Restart the home router first: the VPN needs the internet"},
        {"id": "client", "type": "instruction",
         "text": "Quit the VPN client completely, start it again and sign in as usual.", "next": "connects"},
        {"id": "connects", "type": "question", "text": "Does the VPN connect now?",
         "options": [{"label": "Yes", "next": "r_restart"}, {"label": "No, it shows an error", "next": "error"}]},
        {"id": "r_restart", "type": "resolution", "text": "VPN connects after restarting the client"},
        {"id": "error", "type": "question", "text": "What does the VPN client say?",
         "options": [{"label": "Credentials rejected", "next": "r_creds"},
                     {"label": "Server unreachable or timeout", "next": "r_server"},
                     {"label": "Certificate error", "next": "r_cert"}]},
        {"id": "r_creds", "type": "resolution",
         "text": "The password expired: the user resets it in the self-service portal"},
        {"id": "r_server", "type": "resolution", "text": "The VPN gateway is down: hand the ticket to networking"},
        {"id": "r_cert", "type": "resolution", "text": "The device certificate expired: hand it to an engineer"},
    ],
}  # fmt: skip

LOCKOUT_FLOW = {
    "start": "devices",
    "nodes": [
        {"id": "devices", "type": "question",
         "text": "Does the user have a phone or tablet that still uses the old password?",
         "options": [{"label": "Yes", "next": "update"}, {"label": "No", "next": "unlock"}]},
        {"id": "update", "type": "instruction",
         "text": "Update the password on the phone's mail app, or remove the account from it.", "next": "unlock"},
        {"id": "unlock", "type": "instruction", "text": "Unlock the account and ask the user to sign in once.",
         "next": "r_unlock"},
        {"id": "r_unlock", "type": "resolution", "text": "Account unlocked and no longer locking out"},
    ],
}  # fmt: skip

FLOWS = {
    "printer": ("Printer shows offline", "printing", PRINTER_FLOW,
                ["printer offline", "printer not printing", "printer shows offline"],
                "A printer shows offline or will not print, for one user or everyone.", 88),
    "vpn": ("VPN will not connect", "networking", VPN_FLOW,
            ["vpn won't connect", "vpn not connecting", "vpn error"],
            "A remote user cannot connect the VPN client.", 80),
    "lockout": ("Account keeps locking out after a password change", "active_directory", LOCKOUT_FLOW,
                ["account locked out", "keeps locking out", "lockout after password change"],
                "A user's account locks out again and again after they changed their password.", 86),
}  # fmt: skip
MAILBOX_FLOW_TITLE = "Shared mailbox missing in Outlook"  # seeded by seed_demo_sessions

# --- problems -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    domain: str
    summary: str
    symptoms: tuple[str, ...]
    fix: str
    first_try: str = "Restarted the affected application and asked the user to try again."
    flow: str = ""  # a FLOWS key, or "mailbox"
    tiers: tuple[float, float, float] = (0.3, 0.5, 0.2)  # guided, exploring, discovery
    escalation: float = 0.12
    weight: int = 3
    cluster: bool = False  # a recurring problem no flow covers (the knowledge gaps), in the last weeks


PROBLEMS = [
    Problem("email", "Outlook keeps asking for the password", ("password prompt", "outlook"),
            "Cleared the cached Office credentials and signed in again.", weight=5),
    Problem("email", "Shared mailbox missing in Outlook", ("shared mailbox missing",),
            "Re-created the Outlook profile; the shared mailbox appeared.", flow="mailbox", weight=3),
    Problem("email", "E-mails stuck in the outbox", ("outbox", "send fails"),
            "Removed an oversized attachment blocking the outbox.", weight=2),
    Problem("printing", "Printer shows offline for the whole office", ("printer offline",),
            "Restarted the Print Spooler on the print server and cleared two stuck jobs.", flow="printer",
            first_try="Power-cycled the printer.", weight=5),
    Problem("printing", "Scan to e-mail fails on the copier", ("scan to email", "smtp auth"),
            "Updated the copier's SMTP relay settings to the new connector.", tiers=(0.1, 0.5, 0.4), weight=2),
    Problem("networking", "VPN will not connect from home", ("vpn not connecting",),
            "Renewed the expired device certificate for the VPN.", flow="vpn", escalation=0.3, weight=4),
    Problem("networking", "Wi-Fi drops in the meeting room", ("wifi drops", "meeting room"),
            "Moved the access point to a non-overlapping channel.", tiers=(0.1, 0.5, 0.4), weight=3),
    Problem("m365", "Teams meeting audio keeps dropping", ("teams audio drops", "bluetooth headset"),
            "Turned off the headset's hands-free profile so Teams uses the stereo one.",
            tiers=(0.0, 0.2, 0.8), weight=0, cluster=True),
    Problem("m365", "OneDrive stuck on 'processing changes'", ("onedrive sync stuck",),
            "Reset the OneDrive client and excluded a path longer than 400 characters.", weight=3),
    Problem("m365", "New starter has no Microsoft 365 licence", ("no licence", "new starter"),
            "Added the user to the licensing group and waited for the sync.", tiers=(0.5, 0.4, 0.1), weight=2),
    Problem("active_directory", "Account keeps locking out after a password change", ("account locked out",),
            "Removed the old password from the user's phone mail app and unlocked the account.",
            flow="lockout", weight=1),
    Problem("active_directory", "Group policy does not apply to new laptops", ("gpo not applying",),
            "Moved the laptops into the right OU and ran a policy update.", tiers=(0.1, 0.4, 0.5), weight=2),
    Problem("hardware", "Docking station leaves the monitors black", ("dock monitors black",),
            "Updated the dock firmware and the display driver.", first_try="Reseated the dock cable.", weight=3),
    Problem("hardware", "Laptop will not charge", ("laptop not charging",),
            "Replaced the faulty USB-C charger.", escalation=0.2, weight=2),
    Problem("endpoint", "Windows update stuck at 35%", ("update stuck",),
            "Cleared the SoftwareDistribution folder and re-ran the update.", weight=3),
    Problem("endpoint", "Laptop takes ten minutes to boot", ("slow boot",),
            "Disabled two start-up agents left by an old VPN client.", tiers=(0.1, 0.4, 0.5), weight=2),
    Problem("virtualization", "VM will not start after the host was patched", ("vm won't start", "host patched"),
            "Re-registered the VM on the host and consolidated its snapshots.", tiers=(0.0, 0.3, 0.7),
            escalation=0.45, weight=2),
    Problem("backup", "Backup job fails with a VSS snapshot error", ("vss snapshot error", "backup job failed"),
            "Restarted the VSS writers and freed space on the shadow storage volume.", tiers=(0.0, 0.1, 0.9),
            weight=0, cluster=True),
    Problem("security", "User reports a phishing e-mail", ("phishing",),
            "Purged the message from all mailboxes and blocked the sender.", tiers=(0.4, 0.5, 0.1), weight=2),
    Problem("security", "MFA prompt keeps looping on the phone", ("mfa loop",),
            "Re-registered the authenticator app for the user.", weight=2),
    Problem("cloud", "Azure VM unreachable over RDP", ("rdp timeout", "azure vm"),
            "Fixed the network security group rule that blocked RDP.", tiers=(0.1, 0.4, 0.5), escalation=0.25,
            weight=1),
]  # fmt: skip
CLUSTERS = {"Backup job fails with a VSS snapshot error": 6, "Teams meeting audio keeps dropping": 4}
CLUSTER_INTAKES = [
    "Nightly backup of {site} file server failed: VSS snapshot error",
    "Backup job failed again on {site}, snapshot error from VSS",
    "Teams audio drops for {who} with the bluetooth headset in meetings",
]

FREE_TEXT_SCOPE = ["Only the label printer in the warehouse", "The second floor, not the first", "Just the plotter",
                   "Some users, only from the terminal server"]  # fmt: skip
FREE_TEXT_OWA = ["It opens, but the calendar folder is missing", "Only the inbox, not the subfolders",
                 "Yes for her, no for her assistant", "It asks for a password there too"]  # fmt: skip
# Flow questions engineers often answer in their own words: the printer flow's first question (its
# walks visit it too, which keeps its share lower) and the mailbox flow's first (no walks): the knowledge
# gaps show the latter as "weak options".
ESCAPED = {"scope": 0.4, "owa": 0.6}
SITES = ["Leeds", "York", "the Harbour office", "HQ", "the warehouse"]
PEOPLE = ["Sam", "Priya", "Jonas", "Mei", "Omar", "Jane", "Luis", "Ana", "Tom", "Fatima", "Ravi", "Chloe"]
CUSTOMERS = ["Contoso Bakery", "Fabrikam Legal", "Harbour Dental", "Litware Logistics", "Tailspin Travel"]
PUSH_ERRORS = [
    "ConnectWise answered 503 Service Unavailable.",
    "The PSA did not answer within 15 seconds.",
    "The ticket is closed in the PSA: it takes no new notes.",
    "The PSA refused the API key (401 Unauthorized).",
]
GENERIC_QUESTIONS = [
    ("Does it affect one user or several?", ["One user", "Several users", "Everyone"]),
    ("Did anything change recently (an update, a new password, a new device)?", ["Yes", "No", "Not sure"]),
    ("Does it happen on another device too?", ["Yes", "No"]),
    ("Is there an error message?", ["Yes, an error", "No message"]),
]


ESCALATION_REASONS = [
    "Needs admin rights on the server.",
    "Ran out of ideas: the fix did not hold.",
    "Looks like a vendor issue; needs someone who knows the platform.",
    "Customer is a VIP and wants a senior engineer.",
]

# Flow walks: (answers from the start, how the walk ended, weight). An instruction's answer is "Done".
PRINTER_PATHS = [
    (["Everyone", "Paper jam or out of paper", "Done"], "resolved", 25),
    (["Everyone", "Toner low or empty", "Done"], "resolved", 14),
    (["Everyone", "No error, or it is dark", "Done", "Yes"], "resolved", 14),
    (["Everyone", "No error, or it is dark", "Done", "No"], "escalated", 12),
    (["Only this user", "No, another one is", "Done"], "resolved", 12),
    (["Only this user", "Yes", "Done", "Yes"], "resolved", 8),
    (["Only this user", "Yes", "Done", "No"], "escalated", 6),
    (["Everyone"], "escalated", 5),
    ([], "abandoned", 4),
]
VPN_PATHS = [
    (["Yes", "Done", "Yes"], "resolved", 30),
    (["No"], "resolved", 15),
    (["Yes", "Done", "No, it shows an error", "Credentials rejected"], "resolved", 15),
    (["Yes", "Done", "No, it shows an error", "Server unreachable or timeout"], "escalated", 20),
    (["Yes", "Done", "No, it shows an error", "Certificate error"], "escalated", 12),
    (["Yes"], "abandoned", 8),
]
# AI-built walks: the nodes the builder served, per category: (type, text, yes label, no label).
AI_WALKS = {
    "wifi_basics": ("The laptop will not join the office Wi-Fi", [
        ("question", "Do other devices nearby connect to the office Wi-Fi?", "Yes", "No"),
        ("instruction", "Turn Wi-Fi off and on again from the taskbar.", "", ""),
        ("question", "Does the laptop connect now?", "Yes", "No"),
        ("instruction", "Forget the office network and join it again with the usual password.", "", ""),
    ]),
    "outlook_client": ("Outlook shows Disconnected in the status bar", [
        ("question", "Does Outlook on the web work for the user?", "Yes", "No"),
        ("instruction", "Close Outlook, wait ten seconds and open it again.", "", ""),
        ("question", "Does the status bar show Connected now?", "Yes", "No"),
    ]),
    "password_reset": ("The user forgot their password", [
        ("question", "Is the user registered for self-service password reset?", "Registered", "Not registered"),
        ("instruction", "Walk the user through the self-service reset page.", "", ""),
        ("question", "Can the user sign in with the new password?", "Yes", "No"),
    ]),
    "teams_zoom_av": ("No sound in Teams calls", [
        ("question", "Is the headset selected as the speaker in Teams' device settings?", "Yes", "No"),
        ("instruction", "Unplug the headset, plug it back in and select it in Teams.", "", ""),
        ("question", "Does a test call play sound now?", "Yes", "No"),
    ]),
}  # fmt: skip


class Command(BaseCommand):
    help = "Give the demo account 90 days of history for the analytics page (idempotent, deterministic)."

    def handle(self, *args, **options):
        account = Account.objects.filter(slug=ACCOUNT).first()
        if account is None:
            raise CommandError("Run `manage.py seed_demo` first: the demo account does not exist.")
        if (
            AISession.objects.filter(account=account, psa_ticket_ref__startswith=MARK).exists()
            or Walk.objects.filter(account=account, psa_ticket_ref__startswith=MARK).exists()
        ):
            self.stdout.write("Demo history already seeded.")
            return
        with transaction.atomic():
            counts = History(account).write()
        self.stdout.write("Seeded 90 days of demo history: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


class History:
    def __init__(self, account: Account) -> None:
        self.account = account
        self.rng = random.Random(SEED)
        self.first_resolved: dict[str, int] = {}
        self.now = timezone.now().replace(second=0, microsecond=0)
        users = {u.email.split("@")[0]: u for u in User.objects.filter(account=account)}
        try:
            self.engineers = [users["dana"], users["eli"], users["admin"]]
            self.techs = [users["lee"], users["lou"]]
        except KeyError as exc:
            raise CommandError(f"Run `manage.py seed_demo` first: the demo user {exc} is missing.") from None
        self.teams = {t.name: t for t in Team.objects.filter(account=account)}
        self.ticket_number = 10_000
        self.usage: list[AIUsage] = []

    # --- helpers ---

    def ticket(self) -> str:
        self.ticket_number += self.rng.randint(1, 9)
        return f"{MARK}{self.ticket_number}"

    def moment(self, *, min_days: float = 0.5, max_days: float = DAYS - 0.5) -> datetime:
        """A working-hours time between max_days and min_days ago (at least half a day ago, so
        whatever follows it in the session still lies in the past)."""
        day = self.now - timedelta(days=self.rng.uniform(min_days, max_days))
        at = day.replace(hour=self.rng.randint(8, 17), minute=self.rng.randint(0, 59))
        return min(at, self.now - timedelta(hours=12))

    def record_usage(self, action: str, at: datetime, *, subject: tuple[str, int], user: User | None,
                     turn: int = 0) -> dict[str, Any]:  # fmt: skip
        """One AI call as the door records it. A conversation's later turns read what came before
        from the prompt cache and write only the newest exchange."""
        rng, model = self.rng, model_for(action)
        if action == "session_turn":
            prefix = 2600 + 520 * turn
            tokens = {"input_tokens": rng.randint(90, 260), "cache_read_tokens": prefix - 520 if turn else 0,
                      "cache_write_tokens": 520 + rng.randint(0, 80) if turn else prefix,
                      "output_tokens": rng.randint(220, 520)}  # fmt: skip
        elif action in ("session_classify", "l1_classify"):
            tokens = {"input_tokens": rng.randint(380, 900), "cache_read_tokens": 0, "cache_write_tokens": 0,
                      "output_tokens": rng.randint(60, 140)}  # fmt: skip
        elif action == "l1_tree_node":
            tokens = {"input_tokens": rng.randint(150, 300), "cache_read_tokens": 2100 if turn else 0,
                      "cache_write_tokens": 180 if turn else 2100, "output_tokens": rng.randint(90, 200)}  # fmt: skip
        else:  # notes, packages, assessments, analysis: one long prompt, its system block cached
            hit = rng.random() < 0.6
            tokens = {"input_tokens": rng.randint(1800, 4200), "cache_read_tokens": 1900 if hit else 0,
                      "cache_write_tokens": 0 if hit else 1900, "output_tokens": rng.randint(400, 1100)}  # fmt: skip
        cost = cost_usd(model, **tokens)
        latency = rng.randint(900, 9000) if tokens["output_tokens"] > 300 else rng.randint(400, 2500)
        self.usage.append(AIUsage(
            account=self.account, user=user, action=action, tier=str(tier_for(action)), model=model,
            provider="anthropic", latency_ms=latency, outcome=AIUsage.Outcome.OK, cost_usd=cost,
            subject_type=subject[0], subject_id=subject[1], created_at=at, **tokens,
        ))  # fmt: skip
        return {**tokens, "cost_usd": cost}

    # --- the history ---

    def write(self) -> dict[str, int]:
        flows = self.flows()
        sessions = self.sessions(flows)
        walks = self.walks(flows)
        AIUsage.objects.bulk_create(self.usage, batch_size=1000)
        throttles = self.throttles()
        self.update_flow_counters(flows, sessions, walks)
        votes = self.feedback(sessions)
        return {
            "sessions": len(sessions),
            "walks": len(walks),
            "escalations": len(self.escalations),
            "fixes": len(self.fixes),
            "ticket pushes": len(self.pushes),
            "AI usage rows": len(self.usage),
            "votes on AI output": votes,
            "AI waits": throttles,
        }

    def throttles(self) -> int:
        """Fair use of the AI (issue 17), as a busy deployment records it: a few live calls waited
        for the account's budget on a morning rush, background work was told to wait, and the
        provider asked everyone to slow down twice. Its own random stream: the rest stays as it was."""
        rng, rows = random.Random(SEED + 17), []
        for usage in self.usage:
            roll = rng.random()
            live = usage.action in ("session_turn", "l1_tree_node", "session_classify", "l1_classify")
            if live and roll < 0.03:
                rows.append(AIThrottle(account=self.account, action=usage.action, priority="interactive",
                                       reason=AIThrottle.Reason.CONCURRENCY, outcome=AIThrottle.Outcome.WAITED,
                                       waited_ms=rng.randint(300, 4000), created_at=usage.created_at))  # fmt: skip
            elif not live and roll < 0.08:
                rows.append(AIThrottle(account=self.account, action=usage.action, priority="background",
                                       reason=AIThrottle.Reason.CONCURRENCY, outcome=AIThrottle.Outcome.TOLD_TO_WAIT,
                                       retry_after_s=30, created_at=usage.created_at))  # fmt: skip
        for days_ago in (3, 11):
            at = self.now - timedelta(days=days_ago, hours=2)
            rows.append(AIThrottle(account=self.account, action="session_turn", priority="interactive",
                                   reason=AIThrottle.Reason.PROVIDER, outcome=AIThrottle.Outcome.TOLD_TO_WAIT,
                                   retry_after_s=20, created_at=at))  # fmt: skip
        AIThrottle.objects.bulk_create(rows, batch_size=1000)
        return len(rows)

    # Issue 16: engineers rate some turns and notes, so the analytics' AI quality has something to show.
    # From each session's own random stream, never the seed's (every other figure stays as it was).
    REASONS = ("wrong", "irrelevant", "unclear", "incomplete", "unsafe")
    COMMENTS = ("It asked for something we had already ruled out.", "Too generic for this customer.",
                "The step would have restarted the whole print server.", "")  # fmt: skip

    def feedback(self, sessions: list[AISession]) -> int:
        resolved = {s.pk: s for s in sessions if s.status == AISession.Status.RESOLVED}
        votes: list[AIFeedback] = []

        def vote(session, kind, output, at, *, action, bad_odds):
            rng = random.Random(f"{kind}:{output.pk}")
            if rng.random() > 0.35:
                return
            down = rng.random() < bad_odds
            votes.append(AIFeedback(
                account=self.account, session=session, kind=kind, object_id=output.pk, user=session.owner,
                vote="down" if down else "up", reason=rng.choice(self.REASONS) if down else "",
                comment=rng.choice(self.COMMENTS) if down else "", action=action, tier=tier_for(action),
                model="demo", created_at=at, updated_at=at,
            ))  # fmt: skip

        for step in SessionStep.objects.filter(session_id__in=resolved).exclude(responded_at=None):
            session = resolved[step.session_id]
            vote(session, "turn", step, step.responded_at, action="session_turn",
                 bad_odds=0.35 if session.problem_domain == "networking" else 0.12)  # fmt: skip
        for push in TicketPush.objects.filter(session_id__in=resolved, kind=TicketPush.Kind.RESOLUTION_NOTE):
            vote(resolved[push.session_id], "resolution_note", push, push.created_at, action="resolution_note",
                 bad_odds=0.1)  # fmt: skip
        AIFeedback.objects.bulk_create(votes, batch_size=1000)
        counts = Counter(v.session_id for v in votes)
        voted = [resolved[pk] for pk in counts]
        for session in voted:
            session.ai_feedback_count = counts[session.pk]
        AISession.objects.bulk_update(voted, ["ai_feedback_count"], batch_size=500)
        return len(votes)

    def flows(self) -> dict[str, Flow]:
        admin = self.engineers[2]
        flows = {}
        for key, (title, domain, tree, keywords, when, age) in FLOWS.items():
            flows[key], _ = Flow.objects.get_or_create(
                account=self.account, title=title,
                defaults={"domain": domain, "tree": tree, "keywords": keywords, "when_to_use": when,
                          "published": True, "created_by": admin, "created_at": self.now - timedelta(days=age)},
            )  # fmt: skip
        mailbox = Flow.objects.filter(account=self.account, title=MAILBOX_FLOW_TITLE).first()
        if mailbox is not None:
            flows["mailbox"] = mailbox
        return flows

    # --- engineer sessions ---

    def sessions(self, flows: dict[str, Flow]) -> list[AISession]:
        weights = [p.weight for p in PROBLEMS]
        plans = [self.plan(self.rng.choices(PROBLEMS, weights=weights)[0], flows, recent=False)
                 for _ in range(SESSIONS - sum(CLUSTERS.values()) - 3)]  # fmt: skip
        for summary, n in CLUSTERS.items():
            problem = next(p for p in PROBLEMS if p.summary == summary)
            plans += [self.plan(problem, flows, recent=True) for _ in range(n)]
        # Three handoffs of the last days still wait for a colleague (the escalation queue, "unclaimed").
        for problem in self.rng.sample([p for p in PROBLEMS if p.weight and not p.flow], 3):
            plan = self.plan(problem, flows, recent=True)
            plan.session.created_at = plan.session.last_activity_at = self.moment(max_days=3)
            plan.outcome, plan.waits = "escalated", True
            plans.append(plan)
        plans.sort(key=lambda p: p.session.created_at)
        AISession.objects.bulk_create([p.session for p in plans], batch_size=500)
        self.steps, self.fixes, self.escalations, self.pushes = [], [], [], []
        for plan in plans:
            self.fill(plan)
        SessionStep.objects.bulk_create(self.steps, batch_size=1000)
        SuggestedFix.objects.bulk_create(self.fixes, batch_size=1000)
        Escalation.objects.bulk_create(self.escalations, batch_size=500)
        for plan in plans:
            self.add_pushes(plan)
        TicketPush.objects.bulk_create(self.pushes, batch_size=1000)
        AISession.objects.bulk_update(
            [p.session for p in plans],
            ["owner", "status", "resolved_at", "abandoned_at", "last_activity_at", "rating", "resolution_summary",
             "resolution_action", "resolution_code", "duplicate_of",
             "documentation", "input_tokens", "output_tokens", "cache_read_tokens",
             "cache_write_tokens", "cost_usd", "step_count"],
            batch_size=500,
        )  # fmt: skip
        # The resolved ones are found by "Solved before" (their search document, on PostgreSQL).
        sessions_search_index(session_ids=[p.session.pk for p in plans])
        return [p.session for p in plans]

    def plan(self, problem: "Problem", flows: dict[str, Flow], *, recent: bool) -> "Plan":
        rng = self.rng
        created = self.moment(max_days=24) if recent else self.moment()
        if problem.flow == "lockout":  # a flow nobody has needed for weeks: "needs attention"
            created = self.moment(min_days=40)
        age = (self.now - created).days
        flow = flows.get(problem.flow) if problem.flow else None
        if flow is not None and rng.random() < 0.8:
            tier, confidence, score = "guided", rng.uniform(0.8, 0.96), round(rng.uniform(0.82, 0.97), 2)
        else:
            flow, score = None, None
            tier = rng.choices(["guided", "exploring", "discovery"], weights=problem.tiers)[0]
            confidence = {"guided": rng.uniform(0.8, 0.95), "exploring": rng.uniform(0.4, 0.79),
                          "discovery": rng.uniform(0.1, 0.39)}[tier]  # fmt: skip
        if problem.cluster:
            outcome = "resolved"
        elif rng.random() < problem.escalation + (0.1 if tier == "discovery" else 0):
            outcome = "escalated"
        elif rng.random() < 0.05:
            outcome = "abandoned"
        elif age < 2 and rng.random() < 0.4:
            outcome = "active"
        else:
            outcome = "resolved"
        pace = 0.8 + 0.5 * age / DAYS  # sessions get quicker over the quarter as the flows take hold
        minutes = {"guided": rng.uniform(8, 30), "exploring": rng.uniform(20, 65),
                   "discovery": rng.uniform(40, 150)}[tier] * pace  # fmt: skip
        owner = rng.choice(self.engineers)
        who, where = rng.choice(PEOPLE), rng.choice(SITES)
        intake = (
            rng.choice([t for t in CLUSTER_INTAKES if problem.symptoms[0].split()[0] in t.lower()]).format(
                site=where, who=who)
            if problem.cluster
            else f"{problem.summary} — {who} at {rng.choice(CUSTOMERS)}, {where}."
        )  # fmt: skip
        ticket = self.ticket() if rng.random() < 0.75 else ""
        team = self.teams.get("Projects" if owner.email.startswith("eli") else "Service Desk")
        session = AISession(
            account=self.account, owner=owner, team=team, intake_type="psa_ticket" if ticket else "text",
            intake_content=intake, problem_summary=problem.summary, problem_domain=problem.domain,
            urgency=rng.choices(["low", "medium", "high", "critical"], weights=[3, 6, 2, 0.4])[0],
            key_symptoms=list(problem.symptoms), confidence_score=round(confidence, 2), confidence_tier=tier,
            summary_keywords=stored_keywords(summary=problem.summary, key_symptoms=problem.symptoms),
            matched_flow=flow, match_score=score, psa_ticket_ref=ticket,
            analysis_status=AISession.AnalysisStatus.ANALYSED, created_at=created, last_activity_at=created,
        )  # fmt: skip
        return Plan(session=session, problem=problem, outcome=outcome, minutes=minutes)

    def flow_questions(self, plan: "Plan") -> list[tuple[str, dict, dict]]:
        """The steps of a session guided by its flow: the flow's nodes in order, the engineer taking a
        branch at each question; the printer flow's first question is often escaped by free text
        (the knowledge gaps' "weak options"), after which the session leaves the flow (ESCAPED)."""
        tree = plan.session.matched_flow.tree
        by_id = {n["id"]: n for n in tree["nodes"]}
        node, asked = by_id[tree["start"]], []
        while node["type"] != "resolution":
            if node["type"] == "instruction":
                content = {"instruction": node["text"], "why": "The team flow's next step.", "kind": "instruction",
                           "expected_outcome": "", "script_template": None, "script_parameters": {}}  # fmt: skip
                asked.append(("action", content, {"response_kind": "action_result", "action_worked": True,
                                                  "flow_node_id": node["id"]}))  # fmt: skip
                node = by_id[node["next"]]
                continue
            options = [{"label": o["label"], "value": f"opt{i}"} for i, o in enumerate(node["options"])]
            content = {"text": node["text"], "why": "The team flow asks this first.", "options": options,
                       "allow_free_text": True, "allow_skip": True}  # fmt: skip
            if self.rng.random() < ESCAPED.get(node["id"], 0):
                answers = FREE_TEXT_SCOPE if node["id"] == "scope" else FREE_TEXT_OWA
                asked.append(("question", content, {"response_kind": "free_text", "flow_node_id": node["id"],
                                                    "response_text": self.rng.choice(answers)}))  # fmt: skip
                return asked + self.generic_questions(plan, count=1)
            index = self.rng.randrange(len(options))
            asked.append(("question", content, {"response_kind": "option", "response_value": options[index]["value"],
                                                "flow_node_id": node["id"]}))  # fmt: skip
            node = by_id[node["options"][index]["next"]]
        return asked

    def generic_questions(self, plan: "Plan", count: int | None = None) -> list[tuple[str, dict, dict]]:
        tier = plan.session.confidence_tier
        count = count or {"guided": 2, "exploring": 3, "discovery": 4}[tier]
        asked = []
        for text, labels in self.rng.sample(GENERIC_QUESTIONS, count):
            options = [{"label": label, "value": f"opt{i}"} for i, label in enumerate(labels)]
            content = {"text": text, "why": "Narrows down where the fault lies.", "options": options,
                       "allow_free_text": True, "allow_skip": True}  # fmt: skip
            roll = self.rng.random()
            if roll < 0.1:
                response = {"response_kind": "skipped"}
            elif roll < 0.2:
                response = {"response_kind": "free_text", "response_text": "Only since the morning, it seems."}
            else:
                response = {"response_kind": "option", "response_value": self.rng.choice(options)["value"]}
            asked.append(("question", content, response))
        return asked

    def fill(self, plan: "Plan") -> None:
        """One session's steps, fixes, escalation and AI usage, and its final state."""
        rng, s, problem = self.rng, plan.session, plan.problem
        plan.at = s.created_at
        plan.actor = s.owner
        plan.add_usage(self.record_usage("session_classify", plan.at, subject=("session", s.pk), user=s.owner))
        asked = self.flow_questions(plan) if s.matched_flow_id else self.generic_questions(plan)
        escalated = plan.outcome == "escalated"
        for kind, content, response in asked[: max(1, len(asked) - 1) if escalated else len(asked)]:
            self.step(plan, kind, content, response)
        failed_first = escalated or rng.random() < 0.18
        if failed_first:  # a fix that did not work: superseded by the next one, or the reason to escalate
            content = {"instruction": problem.first_try, "why": "The quickest thing that often works.",
                       "kind": "instruction", "expected_outcome": "The problem is gone.", "script_template": None,
                       "script_parameters": {}}  # fmt: skip
            tried = self.step(plan, "action", content, {"response_kind": "action_result", "action_worked": False,
                                                        "response_text": "No change."})  # fmt: skip
            plan.failed_fix = SuggestedFix(
                account=self.account, session=s, title=problem.first_try.rstrip("."), confidence=rng.randint(45, 70),
                decision=SuggestedFix.Decision.ONE_OFF, decided_at=tried.created_at, applied_at=tried.created_at,
                outcome=SuggestedFix.Outcome.APPLIED_FAILED, failure_reason="No change after applying it.",
                verified_at=tried.responded_at, superseded_at=None if escalated else tried.responded_at,
                created_at=tried.created_at,
            )  # fmt: skip
            self.fixes.append(plan.failed_fix)
        if escalated and not self.escalate(plan):
            return  # awaiting pickup, or claimed and never acted on
        if plan.outcome == "abandoned":
            s.status, s.abandoned_at, s.last_activity_at = AISession.Status.ABANDONED, plan.at + DAY, plan.at
            return self.finish(plan)
        if plan.outcome == "active":
            s.status, s.last_activity_at = AISession.Status.ACTIVE, plan.at
            return self.finish(plan)
        plan.at = max(plan.at, s.created_at + timedelta(minutes=plan.minutes) - timedelta(minutes=6))
        content = {"fix": problem.fix, "summary": problem.fix, "follow_ups": []}
        done = self.step(plan, "resolution_suggestion", content, {"response_kind": "action_result",
                                                                   "action_worked": True})  # fmt: skip
        if failed_first or rng.random() < 0.55:
            if plan.failed_fix is not None:
                plan.failed_fix.superseded_at = plan.failed_fix.superseded_at or done.created_at
            self.fixes.append(SuggestedFix(
                account=self.account, session=s, title=problem.fix.rstrip("."), confidence=rng.randint(70, 95),
                decision=SuggestedFix.Decision.ONE_OFF, decided_at=done.created_at, applied_at=done.created_at,
                outcome=SuggestedFix.Outcome.APPLIED_SUCCESS, verified_at=done.responded_at,
                created_at=done.created_at + timedelta(seconds=1),
            ))  # fmt: skip
        s.status = AISession.Status.RESOLVED
        s.resolved_at = s.last_activity_at = done.responded_at + timedelta(minutes=1)
        s.resolution_summary = s.resolution_action = problem.fix
        self.resolution_code(s, problem)
        s.documentation = f"Problem: {s.problem_summary}\n\nResolution: {problem.fix}"
        if rng.random() < 0.65:
            weights = [5, 4, 2, 0.6, 0.2] if s.confidence_tier == "guided" else [3, 4, 2, 1, 0.4]
            s.rating = rng.choices([5, 4, 3, 2, 1], weights=weights)[0]
        for action in ("resolution_note", "flywheel_analysis"):
            plan.add_usage(self.record_usage(action, s.resolved_at, subject=("session", s.pk), user=plan.actor))
        self.finish(plan)

    def step(self, plan: "Plan", kind: str, content: dict, response: dict) -> SessionStep:
        rng, s = self.rng, plan.session
        plan.order += 1
        plan.at += timedelta(minutes=rng.uniform(1.5, 6))
        usage = self.record_usage("session_turn", plan.at, subject=("session", s.pk), user=plan.actor,
                                  turn=plan.order - 1)  # fmt: skip
        plan.add_usage(usage)
        response = dict(response)
        flow_node_id = response.pop("flow_node_id", "")
        step = SessionStep(
            account=self.account, session=s, order=plan.order, step_type=kind, content=content,
            confidence=s.confidence_score, reasoning="Working hypothesis.", created_at=plan.at,
            responded_at=plan.at + timedelta(minutes=rng.uniform(0.5, 4)), responded_by=plan.actor, **response,
            **{k: usage[k] for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")},
        )  # fmt: skip
        if flow_node_id and hasattr(SessionStep, "flow_node_id"):
            step.flow_node_id = flow_node_id  # the knowledge gaps' weak options (the gaps module adds the field)
        plan.at = step.responded_at
        self.steps.append(step)
        return step

    def escalate(self, plan: "Plan") -> bool:
        """Escalate the session; True when it goes on (claimed, and the claimer acted)."""
        rng, s = self.rng, plan.session
        at = plan.at + timedelta(minutes=rng.uniform(1, 5))
        escalation = Escalation(
            account=self.account, session=s, escalated_by=s.owner, reason=rng.choice(ESCALATION_REASONS),
            intercept=Escalation.Intercept.DIDNT, at_step=plan.order, created_at=at,
            package=f"## Escalation: {s.problem_summary}\n\nTried: {plan.problem.first_try}",
            assessment_status=Escalation.AssessmentStatus.READY,
            assessment={"likely_cause": plan.problem.fix, "suggested_steps": [], "confidence": 0.6},
        )  # fmt: skip
        self.escalations.append(escalation)
        plan.escalation = escalation
        plan.add_usage(self.record_usage("escalation_package", at, subject=("session", s.pk), user=s.owner))
        plan.add_usage(self.record_usage("handoff_assessment", at + timedelta(seconds=40),
                                         subject=("session", s.pk), user=None))  # fmt: skip
        if plan.waits:
            s.status, s.last_activity_at = AISession.Status.REQUESTING_ESCALATION, at
            self.finish(plan)
            return False
        claimer = rng.choice([e for e in self.engineers if e.pk != s.owner_id])
        # Most claims come within the half hour; a few wait for the afternoon.
        wait = min(rng.lognormvariate(3.0, 1.0), 300.0)
        escalation.claimed_by, escalation.claimed_at = claimer, at + timedelta(minutes=wait)
        escalation.start_mode = Escalation.StartMode.CONTINUE
        s.owner = plan.actor = claimer
        plan.at = escalation.claimed_at
        if rng.random() < 0.15:  # claimed, then nothing: the session went stale
            s.status, s.last_activity_at, s.abandoned_at = AISession.Status.ABANDONED, plan.at, plan.at + DAY
            self.finish(plan)
            return False
        if rng.random() < 0.12:
            plan.at += timedelta(minutes=rng.uniform(45, 180))  # picked up before a meeting, worked after it
        kind, content, response = self.generic_questions(plan, count=1)[0]
        self.step(plan, kind, content, {"response_kind": "option", "response_value": content["options"][0]["value"]})
        return True

    # How the demo's resolves ended (issue 16), most of them fixed. Drawn from the session's own id, not
    # the seed's stream, so every other figure of the history stays as it was before codes existed.
    CODES = (("fixed", 60), ("workaround", 14), ("known_issue", 7), ("duplicate", 7), ("no_fault_found", 6),
             ("user_training", 6))  # fmt: skip

    def resolution_code(self, s: AISession, problem: "Problem") -> None:
        codes, weights = zip(*self.CODES, strict=True)
        code = random.Random(s.pk).choices(codes, weights=weights)[0]
        first = self.first_resolved.setdefault(problem.summary, s.pk)
        if code == "duplicate" and first == s.pk:
            code = "fixed"  # the first of its kind repeats nothing
        s.resolution_code = code
        s.duplicate_of_id = first if code == "duplicate" else None

    def finish(self, plan: "Plan") -> None:
        s = plan.session
        for key, value in plan.totals.items():
            setattr(s, key, value)
        s.step_count = plan.order

    def add_pushes(self, plan: "Plan") -> None:
        s = plan.session
        if plan.escalation is not None:
            self.pushes.append(self.push(s, TicketPush.Kind.ESCALATION_PACKAGE, plan.escalation.created_at,
                                         escalation=plan.escalation, by=plan.escalation.escalated_by))  # fmt: skip
        if s.status == AISession.Status.RESOLVED:
            self.pushes.append(self.push(s, TicketPush.Kind.RESOLUTION_NOTE, s.resolved_at, by=s.owner))

    def push(self, s: AISession, kind: str, at: datetime, *, by: User, escalation=None) -> TicketPush:
        rng = self.rng
        push = TicketPush(account=self.account, session=s, escalation=escalation, kind=kind, created_by=by,
                          body=f"{kind.replace('_', ' ').capitalize()} for {s.problem_summary}", created_at=at,
                          ticket_label=f"PSA #{s.psa_ticket_ref}" if s.psa_ticket_ref else "",
                          last_attempt_at=at, attempts=1)  # fmt: skip
        if not s.psa_ticket_ref:
            push.status, push.posted_at = TicketPush.Status.LOCAL, at
            return push
        roll = rng.random()
        if roll < 0.08:
            push.status, push.error = TicketPush.Status.FAILED, rng.choice(PUSH_ERRORS)
            push.attempts = rng.randint(1, TicketPush.MAX_BACKGROUND_ATTEMPTS)
            push.last_attempt_at = at + timedelta(minutes=5 * push.attempts)
        elif roll < 0.2:  # failed first, posted on a retry
            push.attempts = rng.randint(2, 3)
            push.status, push.external_id = TicketPush.Status.POSTED, str(rng.randint(100000, 999999))
            push.posted_at = push.last_attempt_at = at + timedelta(minutes=5 * push.attempts)
        else:
            push.status, push.external_id = TicketPush.Status.POSTED, str(rng.randint(100000, 999999))
            push.posted_at = at + timedelta(seconds=rng.randint(1, 5))
        return push

    # --- L1 walks ---

    def walks(self, flows: dict[str, Flow]) -> list[Walk]:
        planned: list[tuple[Walk, list[dict]]] = []
        for key, paths, old, recent in (("printer", PRINTER_PATHS, 28, 20), ("vpn", VPN_PATHS, 11, 5)):
            flow = flows[key]
            for index in range(old + recent):
                at = self.moment(max_days=27) if index < recent else self.moment(min_days=31)
                answers, ending = self.rng.choices([p[:2] for p in paths], weights=[p[2] for p in paths])[0]
                planned.append(self.flow_walk(flow, answers, ending, at))
        for _ in range(34):
            category = self.rng.choice(sorted(AI_WALKS))
            planned.append(self.ai_walk(category, self.moment()))
        for _ in range(4):
            at = self.moment()
            walk = self.walk(Walk.Kind.AD_HOC, "The customer's scanner needs a new driver", at, "resolved")
            walk.notes = "Downloaded the driver from the vendor's site with the customer; scan works."
            planned.append((walk, []))
        walks = [w for w, _ in planned]
        Walk.objects.bulk_create(walks, batch_size=500)
        steps = []
        for walk, served in planned:
            at = walk.created_at
            if walk.kind == Walk.Kind.AI_BUILT:
                self.record_usage("l1_classify", at, subject=("walk", walk.pk), user=walk.tech)
            for order, node in enumerate(served, 1):
                at += timedelta(minutes=self.rng.uniform(0.5, 3))
                answer = node.pop("_answer", None)
                if walk.kind == Walk.Kind.AI_BUILT:
                    self.record_usage("l1_tree_node", at, subject=("walk", walk.pk), user=walk.tech, turn=order - 1)
                step = WalkStep(account=self.account, walk=walk, order=order, node_id=node["id"], node=node,
                                served_at=at)  # fmt: skip
                if answer is not None:
                    step.answer, step.answer_label, step.answered_at = answer["value"], answer["label"], at
                steps.append(step)
        WalkStep.objects.bulk_create(steps, batch_size=1000)
        return walks

    def walk(self, kind: str, problem: str, at: datetime, ending: str, *, flow: Flow | None = None,
             category: str = "") -> Walk:  # fmt: skip
        rng = self.rng
        tech = rng.choice(self.techs)
        walk = Walk(account=self.account, tech=tech, kind=kind, problem=problem, category=category, flow=flow,
                    tree=flow.tree if flow else None, psa_ticket_ref=self.ticket(),
                    customer_name=rng.choice(CUSTOMERS), created_at=at, status=ending)  # fmt: skip
        finished = at + timedelta(minutes=rng.uniform(4, 25))
        walk.last_step_at = finished
        if ending == "resolved":
            walk.finished_at, walk.helpful = finished, rng.random() < 0.85
            walk.outcome_notes = "Working again; the customer confirmed."
            walk.ticket_note = "Ticket closed with the walk as a note."
        elif ending == "escalated":
            walk.finished_at = finished
            walk.escalation_category = rng.choice(["beyond_l1", "safe_steps_exhausted", "hardware"])
            walk.escalation_reason = "The safe steps did not fix it; it needs an engineer."
            walk.ticket_note = "Ticket marked escalated."
        return walk

    def flow_walk(self, flow: Flow, answers: list[str], ending: str, at: datetime) -> tuple[Walk, list[dict]]:
        walk = self.walk(Walk.Kind.FLOW, self.rng.choice([f"{flow.title} for {p}" for p in PEOPLE]), at, ending,
                         flow=flow)  # fmt: skip
        node, served = nodes.from_tree(flow.tree, flow.tree["start"]), []
        for label in answers:
            choice = next(c for c in node["choices"] if c["label"] == label)
            served.append({**node, "_answer": choice})
            node = nodes.from_tree(flow.tree, choice["next"])
        served.append(node)
        return walk, served

    def ai_walk(self, category: str, at: datetime) -> tuple[Walk, list[dict]]:
        rng = self.rng
        problem, script = AI_WALKS[category]
        roll = rng.random()
        ending = "resolved" if roll < 0.6 else "escalated" if roll < 0.9 else "abandoned"
        walk = self.walk(Walk.Kind.AI_BUILT, problem, at, ending, category=category)
        stop = rng.randint(1, len(script)) if ending != "resolved" else rng.randint(2, len(script))
        served = []
        for depth, (kind, text, yes, no) in enumerate(script[:stop], 1):
            node = nodes.from_ai({"type": kind, "text": text, "yes_label": yes, "no_label": no},
                                 node_id=f"n{depth}", depth=depth)  # fmt: skip
            if depth < stop or ending != "abandoned":
                node["_answer"] = node["choices"][0] if kind == "instruction" else rng.choice(node["choices"])
            served.append(node)
        if ending == "resolved":
            served.append(nodes.from_ai({"type": "resolved", "text": "Fixed: confirm with the customer."},
                                        node_id=f"n{stop + 1}", depth=stop + 1))  # fmt: skip
        elif ending == "escalated":
            served.append(nodes.escalate_node(node_id=f"n{stop + 1}", depth=stop + 1, reason=nodes.EXHAUSTED))
            walk.escalation_category = nodes.escalation_category_for(nodes.EXHAUSTED)
        return walk, served

    # --- the flows' counters, as the flywheel's reinforcement would have kept them ---

    def update_flow_counters(self, flows: dict[str, Flow], sessions: list[AISession], walks: list[Walk]) -> None:
        finished_session = (AISession.Status.RESOLVED, AISession.Status.REQUESTING_ESCALATION,
                            AISession.Status.ABANDONED)  # fmt: skip
        for flow in {f.pk: f for f in flows.values()}.values():
            used = [s for s in sessions if s.matched_flow_id == flow.pk and s.status in finished_session]
            walked = [w for w in walks if w.flow_id == flow.pk and w.status != Walk.Status.ACTIVE]
            if not used and not walked:
                continue
            usage = len(used) + len(walked)
            success = sum(s.status == AISession.Status.RESOLVED for s in used)
            success += sum(w.status == Walk.Status.RESOLVED for w in walked)
            last = max([s.created_at for s in used] + [w.created_at for w in walked])
            Flow.objects.filter(pk=flow.pk).update(
                usage_count=F("usage_count") + usage,
                success_count=F("success_count") + success,
                last_matched_at=Greatest(Coalesce(F("last_matched_at"), Value(last)), Value(last)),
            )


DAY = timedelta(days=1)


@dataclass
class Plan:
    """One session being written: what it is about, how it ends, and where its clock stands."""

    session: AISession
    problem: Problem
    outcome: str
    minutes: float
    at: datetime | None = None
    actor: User | None = None
    order: int = 0
    escalation: Escalation | None = None
    failed_fix: SuggestedFix | None = None
    waits: bool = False  # escalated, and nobody has claimed it yet
    totals: dict[str, Any] = field(default_factory=lambda: {
        "input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0,
        "cost_usd": Decimal("0")})  # fmt: skip

    def add_usage(self, usage: dict[str, Any]) -> None:
        for key in self.totals:
            self.totals[key] += usage[key]
