"""Resolution codes (issue 16 §3): Resolve asks what kind of ending it was; a duplicate names the
session or ticket it repeats (of the same account); the code is shown on the session, labelled in
the note's Resolution section, filterable in the session list and counted in analytics."""

import pytest

from flywheel_app.analytics import coverage
from resolutionflow.errors import InvalidInput
from resolutionflow.psa.services import internal_ticket_create
from sessions_app.models import AISession, TicketPush
from sessions_app.services import lifecycle
from sessions_app.tests.factories import AISessionFactory

pytestmark = pytest.mark.django_db

NOTE = "## Problem\nP\n## What we confirmed\n- F\n## Root cause\nC\n## Resolution\nR"


def _post(client, session, **data):
    client.force_login(session.owner)
    return client.post(f"/sessions/{session.pk}/resolve/", {"summary": "Cleared it", "note": NOTE, **data})


def _unchanged(session):
    again = AISession.objects.get(pk=session.pk)
    assert (again.status, again.resolution_code, again.resolved_at) == ("active", "", None)
    assert not TicketPush.objects.filter(session=session).exists()


@pytest.mark.parametrize("code", ["", "solved-ish"])
def test_resolve_without_a_code_is_refused_with_a_message_and_changes_nothing(tenant_a, client, code):
    session = AISessionFactory(owner=tenant_a.engineer)

    response = _post(client, session, code=code)

    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Choose a resolution code: how did it end?" in page or "Choose one of the resolution codes." in page
    assert '<details class="resolve-box" open>' in page and "Cleared it" in page  # what was typed comes back
    _unchanged(session)
    with pytest.raises(InvalidInput, match="Choose a resolution code"):
        lifecycle.session_resolve(session=session, actor=session.owner, code="", summary="Cleared it")
    _unchanged(session)


def test_resolve_offers_the_six_codes(tenant_a, client):
    session = AISessionFactory(owner=tenant_a.engineer)
    client.force_login(session.owner)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    for value in ("fixed", "workaround", "known_issue", "duplicate", "no_fault_found", "user_training"):
        assert f'name="code" value="{value}"' in page


def test_a_duplicate_needs_its_reference(tenant_a, client):
    session = AISessionFactory(owner=tenant_a.engineer)

    response = _post(client, session, code="duplicate")

    page = client.get(response["Location"]).content.decode()
    assert "A duplicate names what it repeats: a session number or a ticket." in page
    _unchanged(session)


@pytest.mark.parametrize("reference", ["own", "other-account", "INT-1", "PSA #1", "next week"])
def test_a_duplicate_of_nothing_of_this_account_is_refused(tenant_a, tenant_b, client, reference):
    session = AISessionFactory(owner=tenant_a.engineer)
    theirs = AISessionFactory(owner=tenant_b.engineer, psa_ticket_ref="1")
    internal_ticket_create(account=tenant_b.account, actor=tenant_b.engineer, title="Theirs")  # INT-1 of b
    reference = {"own": f"#{session.pk}", "other-account": f"#{theirs.pk}"}.get(reference, reference)

    response = _post(client, session, code="duplicate", duplicate_of=reference)

    page = client.get(response["Location"]).content.decode()
    assert "is no other session or ticket of this account" in page
    _unchanged(session)


def test_a_duplicate_of_a_session_or_ticket_of_the_account_is_recorded(tenant_a, client):
    original = AISessionFactory(owner=tenant_a.engineer, psa_ticket_ref="4410")
    ticket = internal_ticket_create(account=tenant_a.account, actor=tenant_a.engineer, title="Printer")
    by_session, by_internal, by_psa = (AISessionFactory(owner=tenant_a.engineer) for _ in range(3))

    _post(client, by_session, code="duplicate", duplicate_of=f"session #{original.pk}")
    _post(client, by_internal, code="duplicate", duplicate_of=ticket.reference.lower())
    _post(client, by_psa, code="duplicate", duplicate_of="PSA #4410")

    for session, original_id, ticket_ref, label in [
        (by_session, original.pk, "", f"Duplicate of session #{original.pk}"),
        (by_internal, None, ticket.reference, f"Duplicate of {ticket.reference}"),
        (by_psa, None, "PSA #4410", "Duplicate of PSA #4410"),
    ]:
        session.refresh_from_db()
        assert (session.status, session.resolution_code) == ("resolved", "duplicate")
        assert (session.duplicate_of_id, session.duplicate_ticket) == (original_id, ticket_ref)
        assert session.resolution_code_label == label
        assert f"**Closed as:** {label}" in TicketPush.objects.get(session=session).body


def test_the_code_is_shown_on_the_session_and_labelled_in_the_notes_resolution_section(tenant_a, client):
    session = AISessionFactory(owner=tenant_a.engineer)

    _post(client, session, code="workaround")

    body = TicketPush.objects.get(session=session).body
    resolution = body.split("## Resolution", 1)[1]
    assert resolution.strip().startswith("**Closed as:** Workaround") and "R" in resolution
    assert body.count("Closed as") == 1
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Resolution code:</strong>" in page and ">Workaround</span>" in page


def test_a_note_drafted_at_resolve_carries_the_code(tenant_a, settings):
    settings.AI_MODE = "demo"
    session = AISessionFactory(owner=tenant_a.engineer)

    lifecycle.session_resolve(session=session, actor=session.owner, code="user_training", summary="Showed her")

    body = TicketPush.objects.get(session=session).body
    assert body.count("**Closed as:** User training") == 1
    assert body.split("## Resolution", 1)[1].strip().startswith("**Closed as:** User training")


def test_the_label_replaces_an_old_one_and_adds_a_missing_section():
    labelled = lifecycle.note_with_code(NOTE, label="Fixed")
    assert lifecycle.note_with_code(labelled, label="Known issue").count("Closed as") == 1
    assert "**Closed as:** Known issue\n\nR" in lifecycle.note_with_code(labelled, label="Known issue")
    assert lifecycle.note_with_code("Just text", label="Fixed") == "Just text\n\n## Resolution\n\n**Closed as:** Fixed"
    middle = "## Resolution\nR\n## After\nA"
    assert (
        lifecycle.note_with_code(middle, label="Fixed") == "## Resolution\n\n**Closed as:** Fixed\n\nR\n\n## After\nA"
    )


def test_the_session_list_filters_by_code(tenant_a, tenant_b, client):
    me = tenant_a.engineer
    fixed = AISessionFactory(owner=me, status="resolved", resolution_code="fixed", problem_summary="Fixed one")
    training = AISessionFactory(
        owner=me, status="resolved", resolution_code="user_training", problem_summary="Training one"
    )
    AISessionFactory(owner=me, status="resolved", resolution_code="", problem_summary="Old one")
    AISessionFactory(owner=me, problem_summary="Open one")
    AISessionFactory(owner=tenant_b.engineer, status="resolved", resolution_code="user_training", problem_summary="B")
    client.force_login(me)

    page = client.get("/sessions/?code=user_training").content.decode()
    assert "Training one" in page and "Fixed one" not in page and "Open one" not in page and ">B<" not in page
    assert ">User training</span>" in page
    old = client.get("/sessions/?code=none").content.decode()
    assert "Old one" in old and "Training one" not in old and ">Not recorded</span>" in old
    everything = client.get("/sessions/").content.decode()
    assert all(s in everything for s in ("Fixed one", "Training one", "Old one", "Open one"))
    assert fixed.pk and training.pk


def test_analytics_counts_resolutions_by_code_and_domain(tenant_a, tenant_b):
    def resolved(tenant, domain, code, n=1):
        for _ in range(n):
            AISessionFactory(owner=tenant.engineer, status="resolved", problem_domain=domain, resolution_code=code)

    resolved(tenant_a, "email", "fixed", 3)
    resolved(tenant_a, "printing", "no_fault_found", 2)
    resolved(tenant_a, "printing", "", 1)
    resolved(tenant_b, "email", "fixed", 5)  # another account never counts

    chart = coverage.section(account_id=tenant_a.account.pk, days=30).chart("resolution_codes")

    assert chart.columns == ["Domain", "Fixed", "Workaround", "Known issue", "Duplicate", "No fault found",
                             "User training", "Not recorded"]  # fmt: skip
    assert chart.rows == [["E-mail", 3, 0, 0, 0, 0, 0, 0], ["Printing", 0, 0, 0, 0, 2, 0, 1]]
    assert chart.alt == "E-mail: 3 fixed; Printing: 2 no fault found, 1 not recorded."


def test_a_duplicate_of_the_longest_psa_ticket_reference_is_recorded(tenant_a, client):
    """A session's PSA ticket reference is up to 40 characters; "PSA #" before it must still fit."""
    ref = "CW-" + "7" * 37
    AISessionFactory(owner=tenant_a.engineer, psa_ticket_ref=ref)
    session = AISessionFactory(owner=tenant_a.engineer)

    _post(client, session, code="duplicate", duplicate_of=f"PSA #{ref}")

    session.refresh_from_db()
    assert (session.status, session.duplicate_ticket) == ("resolved", f"PSA #{ref}")
    assert session.resolution_code_label == f"Duplicate of PSA #{ref}"
