"""What we know (SPEC §3): create/edit/delete rules, source refs, state_version bumps."""

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction

from facts_app import services
from facts_app.models import Fact
from facts_app.tests.factories import FactFactory
from resolutionflow.errors import Conflict, InvalidInput, PermissionDenied
from sessions_app.models import AISession
from sessions_app.tests.factories import AISessionFactory, LaneItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(tenant_a):
    return AISessionFactory(owner=tenant_a.engineer)


def _version(session) -> int:
    return AISession.objects.values_list("state_version", flat=True).get(pk=session.pk)


def test_a_note_is_created_trimmed_and_bumps_the_version_by_one(session):
    before = _version(session)
    fact = services.fact_create(
        session=session, actor=session.owner, text="  OWA   signs in fine.  ", summary="rules out the account"
    )
    assert (fact.text, fact.source_type, fact.source_ref, fact.author) == (
        "OWA signs in fine.",
        "user_note",
        "",
        session.owner,
    )
    assert _version(session) == before + 1


@pytest.mark.parametrize("text", ["", "   ", "x" * 301])
def test_a_fact_needs_one_short_sentence(session, text):
    with pytest.raises(InvalidInput) as err:
        services.fact_create(session=session, actor=session.owner, text=text)
    assert "sentence" in err.value.message
    assert not Fact.objects.exists() and _version(session) == 0


def test_a_question_fact_must_name_a_lane_question_of_this_session(session, tenant_a):
    LaneItemFactory(session=session, kind="question", public_id="Q1", text="Does OWA work?")
    LaneItemFactory(session=session, kind="check", public_id="C1", text="Check Credential Manager")
    other = AISessionFactory(owner=tenant_a.engineer)
    LaneItemFactory(session=other, kind="question", public_id="Q2", text="Elsewhere?")
    ok = services.fact_create(
        session=session, actor=session.owner, text="OWA works.", source_type="question", source_ref="Q1"
    )
    assert ok.source_ref == "Q1"
    for source_type, ref, message in [
        ("question", "", "must name the item"),
        ("question", "Q9", "Q9 is not a question of this session"),
        ("question", "Q2", "Q2 is not a question of this session"),  # another session's item
        ("question", "C1", "C1 is not a question of this session"),  # a check is not a question
        ("diagnostic_check", "Q1", "Q1 is not a diagnostic check of this session"),
        ("user_note", "Q1", "do not point at a lane item"),
        ("ai_synthesis", "C1", "do not point at a lane item"),
    ]:
        with pytest.raises(InvalidInput) as err:
            services.fact_create(
                session=session, actor=session.owner, text="x.", source_type=source_type, source_ref=ref
            )
        assert message in err.value.message
    assert Fact.objects.count() == 1 and _version(session) == 1


def test_the_database_enforces_the_source_ref_rule(session):

    with pytest.raises(IntegrityError), transaction.atomic():
        Fact.objects.create(account=session.account, session=session, text="x", source_type="question", source_ref="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Fact.objects.create(
            account=session.account, session=session, text="x", source_type="user_note", source_ref="Q1"
        )


def test_notes_and_syntheses_are_editable_and_each_edit_bumps_once(session):
    note = FactFactory(session=session)
    synthesis = FactFactory(session=session, source_type="ai_synthesis", author=None)
    before = _version(session)
    services.fact_update(fact=note, actor=session.owner, text="OWA fails too.", summary="points at the account")
    services.fact_update(fact=synthesis, actor=session.owner, text="Likely a stale token.")
    note.refresh_from_db()
    assert (note.text, note.summary) == ("OWA fails too.", "points at the account")
    assert _version(session) == before + 2


def test_question_and_check_facts_are_refused_at_the_card_with_a_clear_message(session):
    LaneItemFactory(session=session, kind="check", public_id="C1", text="Check Credential Manager")
    fact = services.fact_create(
        session=session, actor=session.owner, text="Two stale entries.", source_type="diagnostic_check", source_ref="C1"
    )
    before = _version(session)
    with pytest.raises(Conflict) as err:
        services.fact_update(fact=fact, actor=session.owner, text="changed")
    assert "change it by changing the answer to C1" in err.value.message
    fact.refresh_from_db()
    assert fact.text == "Two stale entries." and _version(session) == before


def test_delete_is_soft_bumps_once_and_leaves_the_live_list(session):
    fact = FactFactory(session=session)
    keep = FactFactory(session=session)
    before = _version(session)
    services.fact_delete(fact=fact, actor=session.owner)
    assert _version(session) == before + 1
    assert list(Fact.objects.live().filter(session=session)) == [keep]
    assert Fact.objects.filter(pk=fact.pk, deleted_at__isnull=False).exists()
    with pytest.raises(Conflict):
        services.fact_update(fact=fact, actor=session.owner, text="revived?")


def test_only_the_owner_of_an_open_session_changes_facts(session, tenant_a):
    with pytest.raises(PermissionDenied):
        services.fact_create(session=session, actor=tenant_a.admin, text="Not mine.")
    AISession.objects.filter(pk=session.pk).update(status="resolved")
    with pytest.raises(Conflict) as err:
        services.fact_create(session=session, actor=session.owner, text="Too late.")
    assert "resolved" in err.value.message
    assert not Fact.objects.exists()


def test_live_facts_are_listed_oldest_first(session):
    first, second, third = (FactFactory(session=session) for _ in range(3))
    services.fact_delete(fact=second, actor=session.owner)
    assert list(Fact.objects.live().filter(session=session)) == [first, third]


def test_ai_promotions_pointing_at_no_lane_item_are_dropped_and_logged(session, caplog):
    LaneItemFactory(
        session=session, kind="question", public_id="Q1", text="Does OWA work?", answer="Yes", status="answered"
    )
    created = services.facts_promote_from_ai(
        session=session,
        promotions=[
            {"text": "OWA signs in fine.", "summary": "rules out the account", "source_ref": "Q1"},
            {"text": "The VPN is fine.", "summary": "invented", "source_ref": "Q7"},
            {"text": "No ref at all.", "summary": "invented", "source_ref": ""},
        ],
    )
    assert [f.source_ref for f in created] == ["Q1"]
    assert Fact.objects.count() == 1 and created[0].author is None
    assert "AI promotion dropped" in caplog.text and "Q7" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_fact_writes_raise_state_version_by_exactly_fifty(tenant_a):
    assert connection.vendor == "postgresql", "this test proves PostgreSQL row locking"
    session = AISessionFactory(owner=tenant_a.engineer)
    start = threading.Barrier(50)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            services.fact_create(session=session, actor=session.owner, text=f"Fact number {n}.")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert Fact.objects.filter(session=session).count() == 50
    assert _version(session) == 50
