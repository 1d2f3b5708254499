"""`manage.py bench --only similar`: the "Solved before" lookup (one query) with 100,000 resolved
sessions in the account vs 1,000 (target: <= 50 ms at 100,000). The rows are bulk-inserted (no AI,
no services), then indexed as resolve indexes them (`sessions_search_index`, one UPDATE)."""

import random
import statistics
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from resolutionflow.accounts.models import Account, Role, User
from sessions_app.models import AISession
from sessions_app.selectors import similar_resolved_sessions
from sessions_app.services.similar import sessions_search_index

TARGET_MS = 50.0

# (summary, symptoms, resolution) of the problems an MSP desk sees again and again.
PROBLEMS = [
    ("Outlook keeps prompting for the password", ["password prompt loop"], "Cleared cached Office credentials"),
    ("Shared mailbox missing in Outlook", ["shared mailbox not visible"], "Granted Full Access, new profile"),
    ("Mail to an external domain bounces with 550 5.7.1", ["NDR 550"], "Added the relay to the SPF record"),
    ("Meeting room calendar declines invites", ["room mailbox declines"], "Turned on automatic processing"),
    ("Printer shows offline", ["printer offline", "jobs queue up"], "Restarted the Print Spooler"),
    ("Scan to email fails on the copier", ["SMTP auth error"], "Updated the copier's SMTP credentials"),
    ("Printing garbled pages after a driver update", ["garbled output"], "Rolled back to the PCL6 driver"),
    ("VPN disconnects every few minutes", ["vpn drops", "tunnel timeout"], "Raised the IKE keepalive"),
    ("Wi-Fi is slow in the warehouse", ["weak signal"], "Moved the access point off channel 6"),
    ("PCs cannot resolve internal names", ["nslookup fails"], "Pointed DHCP option 6 at the DCs"),
    ("New laptops get no IP address", ["APIPA address"], "Extended the exhausted DHCP scope"),
    ("Account locked out again and again", ["account lockout"], "Removed a stale mapped-drive credential"),
    ("Mapped drive missing after login", ["drive not mapped"], "Fixed the GPO's security filtering"),
    ("Trust relationship with the domain failed", ["trust failed"], "Rejoined the workstation to the domain"),
    ("MFA push not arriving on the phone", ["no notification"], "Re-registered the Authenticator app"),
    ("Clicked a phishing link", ["suspicious sign-in"], "Reset the password and revoked sessions"),
    ("New starter cannot sign in to Microsoft 365", ["no licence"], "Assigned a Business Premium licence"),
    ("OneDrive stuck syncing with a red cross", ["sync pending"], "Reset OneDrive, renamed a bad file"),
    ("Teams calls have choppy audio", ["choppy audio"], "Disabled USB power saving for the headset"),
    ("Access denied to a SharePoint site", ["access denied"], "Added the user to the members group"),
    ("Laptop very slow to boot", ["slow startup"], "Replaced the failing disk with an SSD"),
    ("BitLocker recovery key asked at every boot", ["recovery screen"], "Suspended and resumed BitLocker"),
    ("Windows Update fails with 0x80070002", ["update error"], "Cleared the SoftwareDistribution folder"),
    ("Second monitor not detected on the dock", ["no signal"], "Updated the docking station firmware"),
    ("Battery drains overnight", ["battery drain in sleep"], "Turned off modern standby networking"),
    ("VM runs out of disk space", ["datastore full"], "Consolidated old snapshots"),
    ("Nightly backup fails with a VSS error", ["VSS writer failed"], "Restarted the VSS writers"),
    ("Backup to the cloud takes all weekend", ["slow upload"], "Enabled incremental forever"),
    ("Azure bill jumped this month", ["unexpected cost"], "Deallocated idle VMs"),
    ("Remote desktop to the terminal server fails", ["RDP refused"], "Renewed the RDP certificate"),
]
PEOPLE = ["Jane", "Omar", "Sam", "Priya", "Luis", "Mei", "Tom", "Ada", "Noah", "Zoe", "Ivan", "Lena"]
SITES = ["reception", "finance", "the warehouse", "head office", "the branch", "sales", "HR", "the lab"]
INTAKES = [
    "Outlook asks Jane for her password all the time since she changed it",
    "The printer in finance is offline again",
    "VPN keeps dropping when Omar works from home",
    "Priya's account keeps getting locked out",
    "OneDrive will not finish syncing, red cross on the folder",
]


def _rows(account, owner, count: int, rng: random.Random) -> list[AISession]:
    now = timezone.now()
    rows = []
    for _ in range(count):
        summary, symptoms, resolution = rng.choice(PROBLEMS)
        who, where = rng.choice(PEOPLE), rng.choice(SITES)
        resolved_at = now - timedelta(minutes=rng.randint(60, 60 * 24 * 365))
        rows.append(
            AISession(
                account=account, owner=owner, intake_content=f"{summary} for {who} in {where}",
                problem_summary=f"{summary} for {who} in {where}"[:120], key_symptoms=symptoms,
                status=AISession.Status.RESOLVED, resolution_summary=f"{resolution} on {who}'s machine",
                resolved_at=resolved_at, created_at=resolved_at - timedelta(minutes=30), last_activity_at=resolved_at,
            )
        )  # fmt: skip
    return rows


def _insert(rows: list[AISession]) -> None:
    """COPY on PostgreSQL (bulk_create of 100,000 wide rows takes minutes), bulk_create elsewhere."""
    if connection.vendor != "postgresql":
        AISession.objects.bulk_create(rows, batch_size=2000)
        return
    fields = [f for f in AISession._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {AISession._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([f.get_db_prep_save(f.pre_save(row, add=True), connection) for f in fields])


def _load(account, owner, count: int, rng: random.Random) -> None:
    _insert(_rows(account, owner, count, rng))
    sessions_search_index(account_id=account.pk)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # As autovacuum leaves a table after a bulk load: visibility map and statistics current.
            cursor.execute("VACUUM ANALYZE sessions_app_aisession")


def _measure(account, repeat: int) -> tuple[float, int]:
    def once(text: str) -> float:
        start = time.perf_counter()
        found = similar_resolved_sessions(account_id=account.pk, text=text, summary=text)
        elapsed = (time.perf_counter() - start) * 1000
        assert found, text
        return elapsed

    for text in INTAKES:
        once(text)  # warm up
    samples = [once(INTAKES[n % len(INTAKES)]) for n in range(repeat * len(INTAKES))]
    return statistics.median(samples), len(samples)


def run(stdout, *, tag: str, repeat: int) -> tuple[str, float, float]:
    """Returns (name, ms at 100,000, ms at 1,000)."""
    rng = random.Random(16)
    account = Account.objects.create(name=f"Bench similar {tag}", slug=f"bench-similar-{tag}")
    owner = User.objects.create_user(f"similar-{tag}@example.test", "x", account=account, role=Role.ENGINEER)
    started = time.perf_counter()
    _load(account, owner, 1_000, rng)
    small_ms, n = _measure(account, repeat)
    _load(account, owner, 99_000, rng)
    stdout.write(f"similar sessions: loaded 100,000 resolved sessions in {time.perf_counter() - started:.1f} s")
    large_ms, _ = _measure(account, repeat)
    stdout.write(f"similar sessions: median of {n} lookups each ({len(INTAKES)} intakes)")
    return ("similar sessions query ms, 100,000 vs 1,000 resolved (<= 50 ms)", large_ms, small_ms)
