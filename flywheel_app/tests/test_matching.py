"""Matching intakes against published flows (SPEC §2 Start, §8 Matching)."""

import pytest

from flywheel_app.selectors import GUIDED_THRESHOLD, flow_match
from flywheel_app.tests.factories import FlowFactory

pytestmark = pytest.mark.django_db

CORPUS = [
    (
        "Outlook repeatedly prompts for password",
        "email",
        [
            "outlook password prompt",
            "outlook asking for credentials",
            "modern authentication prompt",
            "outlook keeps asking password",
        ],
        "Outlook desktop keeps asking for the user's password, often after a password change or MFA rollout.",
    ),
    (
        "VPN disconnects every few minutes",
        "networking",
        ["vpn drops", "vpn disconnects", "forticlient disconnect", "vpn tunnel timeout"],
        "Remote users lose the VPN tunnel repeatedly.",
    ),
    (
        "Printer shows offline",
        "printing",
        ["printer offline", "printer not printing", "print queue stuck", "spooler"],
        "A network or USB printer shows as offline or jobs sit in the queue.",
    ),
    (
        "User account locked out",
        "active_directory",
        ["account locked out", "lockout", "bad password attempts", "cannot log in locked"],
        "An AD account keeps locking, often from a stale credential on a phone or mapped drive.",
    ),
    (
        "Slow computer performance",
        "endpoint",
        ["slow pc", "computer slow", "high cpu", "disk 100%", "takes long to boot"],
        "A workstation is slow to boot or respond.",
    ),
    (
        "Backup job failed",
        "backup",
        ["backup failed", "backup job error", "veeam job failed", "snapshot failed"],
        "A scheduled backup job reports failure.",
    ),
]

INTAKES = [
    (
        "Since her password change on Monday, Outlook keeps asking Jane for her password every hour",
        "email",
        "Outlook repeatedly prompts for password",
    ),
    (
        "Customer says the VPN drops every 5 minutes when working from home, FortiClient shows disconnected",
        "networking",
        "VPN disconnects every few minutes",
    ),
    ("Front desk printer is offline again, jobs are stuck in the print queue", "printing", "Printer shows offline"),
    ("Bob's account is locked out again, third time today", "active_directory", "User account locked out"),
    ("Laptop is very slow, takes 10 minutes to boot and the disk is at 100%", "endpoint", "Slow computer performance"),
    ("Nightly Veeam backup job failed with a snapshot error", "backup", "Backup job failed"),
]


@pytest.fixture
def corpus(tenant_a):
    return {
        title: FlowFactory(account=tenant_a.account, title=title, domain=domain, keywords=keywords, when_to_use=when)
        for title, domain, keywords, when in CORPUS
    }


@pytest.mark.parametrize(("intake", "domain", "expected"), INTAKES)
def test_the_right_flow_ranks_first(tenant_a, corpus, intake, domain, expected):
    matches = flow_match(account=tenant_a.account, text=intake, domain=domain)
    assert matches, "no match at all"
    assert matches[0].flow.title == expected
    assert all(0.0 <= m.score <= 1.0 for m in matches)
    assert matches == sorted(matches, key=lambda m: -m.score)


def test_the_right_flow_ranks_first_without_a_domain(tenant_a, corpus):
    for intake, _, expected in INTAKES:
        matches = flow_match(account=tenant_a.account, text=intake, domain="")
        assert matches[0].flow.title == expected, intake


def test_a_strong_match_crosses_the_guided_threshold_and_a_weak_one_does_not(tenant_a, corpus):
    strong = flow_match(
        account=tenant_a.account,
        text="Outlook keeps asking for password, outlook password prompt after change",
        domain="email",
    )
    assert strong[0].score > GUIDED_THRESHOLD
    weak = flow_match(account=tenant_a.account, text="The printer in room 4 prints blank pages", domain="hardware")
    assert weak and weak[0].score <= GUIDED_THRESHOLD


def test_unrelated_intake_matches_nothing(tenant_a, corpus):
    assert (
        flow_match(account=tenant_a.account, text="Quarterly invoice question about licence count", domain="other")
        == []
        or flow_match(account=tenant_a.account, text="Quarterly invoice question about licence count", domain="other")[
            0
        ].score
        < 0.5
    )


def test_only_published_flows_of_the_account_match(tenant_a, tenant_b, corpus):
    corpus["Printer shows offline"].published = False
    corpus["Printer shows offline"].save()
    FlowFactory(account=tenant_b.account, title="Printer offline fix", domain="printing", keywords=["printer offline"])
    matches = flow_match(account=tenant_a.account, text="printer offline", domain="printing")
    assert all(m.flow.account_id == tenant_a.account.pk for m in matches)
    assert "Printer shows offline" not in [m.flow.title for m in matches]
    assert "Printer offline fix" not in [m.flow.title for m in matches]


def test_empty_intake_matches_nothing(tenant_a, corpus):
    assert flow_match(account=tenant_a.account, text="   ", domain="email") == []
