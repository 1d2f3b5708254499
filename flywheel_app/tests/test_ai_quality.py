"""The AI quality section of analytics (issue 16 §2): the share of down-votes by output, by domain
and by AI action and model, why, and the latest down-votes with links to their sessions — from the
votes of the account only."""

import csv
import io

import pytest

from facts_app.models import AIFeedback
from flywheel_app.analytics import ai_quality
from flywheel_app.analytics.base import analytics_invalidate
from resolutionflow.accounts.tests.factories import UserFactory
from sessions_app.tests.factories import AISessionFactory, SessionStepFactory

pytestmark = pytest.mark.django_db

URL = "/manage/analytics/"


def _votes(tenant, domain, kind, votes, *, action="session_turn", model="claude-strong-1", summary=None):
    """One output of `kind` in a new session of `domain`, voted on by one person per vote given."""
    session = AISessionFactory(owner=tenant.engineer, problem_domain=domain, problem_summary=summary or domain)
    step = SessionStepFactory(session=session, order=1)
    for vote, reason, comment in votes:
        AIFeedback.objects.create(
            account=tenant.account, session=session, kind=kind, object_id=step.pk,
            user=UserFactory(account=tenant.account), vote=vote, reason=reason, comment=comment,
            action=action, tier="strong", model=model,
        )  # fmt: skip
    return session


def test_ai_quality_counts_the_votes_of_the_account(tenant_a, tenant_b):
    down = ("down", "wrong", "")
    up = ("up", "", "")
    _votes(tenant_a, "email", "turn", [down, up, up, up])
    worst = _votes(tenant_a, "printing", "fix", [("down", "unsafe", "It would reboot the server"), up],
                   summary="Printer offline")  # fmt: skip
    _votes(tenant_a, "email", "resolution_note", [up, up], action="resolution_note", model="claude-strong-2")
    _votes(tenant_b, "email", "turn", [down, down, down, down, down])  # another account never counts

    s = ai_quality.section(account_id=tenant_a.account.pk, days=30)

    assert s.data["votes"] == 8 and s.data["down"] == 2 and s.data["down_share"] == 25.0
    assert s.chart("by_output").rows == [
        ["Suggested fix", 50.0, 2, 1], ["AI turn", 25.0, 4, 1], ["Resolution note", 0.0, 2, 0]
    ]  # fmt: skip
    assert s.chart("by_domain").rows == [["Printing", 50.0, 2, 1], ["E-mail", 16.7, 6, 1]]
    assert s.chart("by_model").rows == [
        ["Session turn", "claude-strong-1", 33.3, 6, 2], ["Resolution note", "claude-strong-2", 0.0, 2, 0]
    ]  # fmt: skip
    assert s.chart("reasons").rows == [["Unsafe or risky", 1], ["Wrong or inaccurate", 1]]
    assert (
        s.chart("by_output").alt
        == "Suggested fix: 50% not helpful (1 of 2 votes); AI turn: 25% not helpful (1 of 4 votes); "
        "Resolution note: 0% not helpful (0 of 2 votes)."
    )
    latest = s.data["latest"]
    assert [f["session_id"] for f in latest] == [worst.pk, latest[1]["session_id"]]
    assert latest[0]["comment"] == "It would reboot the server" and latest[0]["reason_label"] == "Unsafe or risky"


def test_the_page_shows_the_section_with_links_and_the_csv(tenant_a, tenant_b, client):
    worst = _votes(tenant_a, "printing", "fix", [("down", "unsafe", "It would reboot the server")], summary="Printer")
    _votes(tenant_b, "email", "turn", [("down", "wrong", "Globex secret")])
    analytics_invalidate(account_id=tenant_a.account.pk)
    client.force_login(tenant_a.admin)

    body = client.get(URL).content.decode()

    assert 'id="flywheel_app-analytics-ai_quality"' in body and "AI quality" in body
    assert f'href="/sessions/{worst.pk}/">Printer</a>' in body and "It would reboot the server" in body
    assert "Globex secret" not in body
    rows = list(csv.reader(io.StringIO(client.get(URL + "ai_quality/by_output.csv").content.decode())))
    assert rows == [["Output", "Not helpful %", "Votes", "Not helpful"], ["Suggested fix", "100.0", "1", "1"]]


def test_no_votes_says_so(tenant_a):
    assert (
        ai_quality.section(account_id=tenant_a.account.pk, days=30).empty == "No one rated an AI output in this period."
    )


@pytest.mark.parametrize("scale", [1, 40])
def test_the_section_costs_three_queries_whatever_the_votes(tenant_a, django_assert_max_num_queries, scale):
    for n in range(scale):
        _votes(tenant_a, ["email", "printing", "networking"][n % 3], ["turn", "fix"][n % 2],
               [("down", "wrong", "x"), ("up", "", ""), ("down", "unclear", "")])  # fmt: skip
    with django_assert_max_num_queries(3):
        section = ai_quality.section(account_id=tenant_a.account.pk, days=30)
    assert section.data["votes"] == 3 * scale
