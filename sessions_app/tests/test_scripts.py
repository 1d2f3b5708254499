"""Scripts inside a session (SPEC §5): generation, redaction everywhere it reappears, 'I ran this',
the builder, post-resolve drafts and sharing rights."""

import pytest

from resolutionflow.accounts.services import account_settings_get
from resolutionflow.ai.fake_api import Reply
from resolutionflow.ai.tiers import model_for
from resolutionflow.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from sessions_app.models import AISession, ScriptGeneration, ScriptTemplate, TemplateDraft
from sessions_app.selectors import script_template_for_user
from sessions_app.services import fixes, lifecycle, turns
from sessions_app.services.scripts import (
    fix_attach_script,
    fix_run_script,
    script_draft,
    script_generate,
    script_mark_ran,
    template_draft_accept,
    template_draft_reject,
)

from .factories import AISessionFactory, ScriptTemplateFactory, question_turn

pytestmark = pytest.mark.django_db

SECRET = "Tr0ub4dor&3'$(calc)"
PARAMS = [
    {"key": "user", "label": "User", "type": "text", "required": True},
    {"key": "new_password", "label": "New password", "type": "password", "required": True},
]
BODY = (
    "Set-ADAccountPassword -Identity {{ user }} "
    "-NewPassword (ConvertTo-SecureString {{ new_password }} -AsPlainText -Force)"
)


@pytest.fixture
def template(tenant_a):
    return ScriptTemplateFactory(
        account=tenant_a.account, visibility="team", team=None, name="Reset password", slug="reset-password",
        body=BODY, parameters=PARAMS,
    )  # fmt: skip


@pytest.fixture
def session(tenant_a):
    return AISessionFactory(owner=tenant_a.engineer, team=tenant_a.team)


def _version(session):
    return AISession.objects.values_list("state_version", flat=True).get(pk=session.pk)


def test_generation_renders_safely_shows_the_secret_once_and_stores_it_redacted(session, template):
    before = _version(session)
    generation, full = script_generate(
        session=session, template=template, actor=session.owner, values={"user": "jane", "new_password": SECRET}
    )
    assert "ConvertTo-SecureString 'Tr0ub4dor&3''$(calc)'" in full  # quoted: nothing expands
    assert SECRET not in generation.script and "********" in generation.script
    assert generation.parameters == {"user": "jane", "new_password": "********"}
    assert SECRET not in str(ScriptGeneration.objects.values().get(pk=generation.pk))
    template.refresh_from_db()
    assert template.usage_count == 1
    assert _version(session) == before + 1


def test_generating_is_not_running(session, template):
    fix = fixes.fix_propose(
        session=session, step=None, title="Reset the password", script_template_slug="reset-password"
    )
    script_generate(
        session=session, template=template, actor=session.owner, fix=fix, values={"user": "j", "new_password": "x"}
    )
    fix.refresh_from_db()
    assert fix.applied_at is None


def test_i_ran_this_marks_the_script_and_applies_its_fix(session, template):
    fix = fixes.fix_propose(
        session=session, step=None, title="Reset the password", script_template_slug="reset-password"
    )
    generation, _ = script_generate(
        session=session, template=template, actor=session.owner, fix=fix, values={"user": "j", "new_password": "x"}
    )
    script_mark_ran(generation=generation, actor=session.owner)
    generation.refresh_from_db()
    fix.refresh_from_db()
    assert generation.ran_at is not None and fix.applied_at is not None and fix.banner_mode == "verifying"


def test_schema_errors_are_clear_and_nothing_is_recorded(session, template):
    with pytest.raises(InvalidInput) as err:
        script_generate(session=session, template=template, actor=session.owner, values={"user": ""})
    assert err.value.message == "User is required. New password is required."
    assert not ScriptGeneration.objects.exists() and _version(session) == 0


def test_the_ai_receives_the_generation_redacted(begin, fake_anthropic, tenant_a, template):
    session = begin(tenant_a.engineer, question_turn("Did the reset work?"))
    script_generate(
        session=session, template=template, actor=tenant_a.engineer, values={"user": "jane", "new_password": SECRET}
    )
    fake_anthropic.enqueue(Reply.json(question_turn("Next?")))
    step = session.steps.get()
    turns.session_answer_step(session=session, step=step, actor=tenant_a.engineer, kind="option", value="yes")
    turns.session_take_turn(session=session, actor=tenant_a.engineer)
    sent = str(fake_anthropic.requests[-1]["messages"])
    assert "reset-password" in sent and "********" in sent
    assert "Tr0ub4dor" not in str(fake_anthropic.requests)


def test_templates_are_found_only_where_the_user_may_use_them(tenant_a, tenant_b, template):
    other_team = ScriptTemplateFactory(
        account=tenant_a.account,
        visibility="team",
        team=tenant_a.team.__class__.objects.create(account=tenant_a.account, name="Other"),
    )
    colleague_personal = ScriptTemplateFactory(account=tenant_a.account, visibility="personal", owner=tenant_a.admin)
    foreign = ScriptTemplateFactory(account=tenant_b.account, visibility="team")
    assert script_template_for_user(user=tenant_a.engineer, template_id=template.pk) == template
    for hidden in (other_team, colleague_personal, foreign):
        with pytest.raises(NotFound):
            script_template_for_user(user=tenant_a.engineer, template_id=hidden.pk)


def test_the_builder_attaches_a_script_to_a_fix(session):
    fix = fixes.fix_propose(session=session, step=None, title="Restart the spooler")
    before = _version(session)
    with pytest.raises(InvalidInput):
        fix_attach_script(fix=fix, actor=session.owner, body="  ")
    fix = fix_attach_script(fix=fix, actor=session.owner, body="Restart-Service -Name Spooler")
    assert fix.script_body == "Restart-Service -Name Spooler" and fix.applied_at is None
    assert _version(session) == before + 1


def test_the_builder_refuses_a_script_whose_placeholder_sits_in_a_string(session, client):
    """An AI-drafted script is attached through the builder: a placeholder inside quotes would let
    a value run as code once the script is templated, so it is refused and nothing is saved."""
    fix = fixes.fix_propose(session=session, step=None, title="Restart the spooler")
    before = _version(session)
    client.force_login(session.owner)
    response = client.post(
        f"/sessions/{session.pk}/fix/{fix.pk}/script/",
        {"body": 'Write-Host "Restarting on {{ computer_name }}"'},
        headers={"HX-Request": "true"},
    )
    assert "stands inside a double-quoted string" in response.content.decode()
    fix.refresh_from_db()
    assert fix.script_body == "" and _version(session) == before


def _draft_url(session, fix):
    return f"/sessions/{session.pk}/fix/{fix.pk}/script/draft/"


def test_the_ai_drafts_a_script_from_the_fix_and_nothing_is_saved_until_attached(session, fake_anthropic, client):
    fix = fixes.fix_propose(session=session, step=None, title="Restart the print spooler", description="On PRN-01")
    fake_anthropic.enqueue(Reply.json({"script": "Restart-Service -Name Spooler", "explanation": "Restarts it."}))
    before = _version(session)
    client.force_login(session.owner)
    response = client.post(_draft_url(session, fix), {"request": "check it first"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert 'id="builder-body"' in page and "Restart-Service -Name Spooler</textarea>" in page
    assert "Restarts it." in page and not [h for h in response.headers if h.startswith("HX-Trigger")]  # nothing changed
    sent = fake_anthropic.requests[-1]
    assert sent["model"] == model_for("script_draft")
    user_text = str(sent["messages"])
    assert '<data source="fix">' in user_text and "Restart the print spooler" in user_text
    assert '<data source="engineer">\\ncheck it first' in user_text
    fix.refresh_from_db()
    assert fix.script_body == "" and _version(session) == before
    fix_attach_script(fix=fix, actor=session.owner, body="Restart-Service -Name Spooler")
    assert _version(session) == before + 1


def test_asking_for_a_revision_sends_the_engineers_draft(session, fake_anthropic):
    fix = fixes.fix_propose(session=session, step=None, title="Unlock the account")
    fake_anthropic.enqueue(Reply.json({"script": "Unlock-ADAccount -Identity {{ user }}", "explanation": "."}))
    draft = script_draft(fix=fix, actor=session.owner, request="use a parameter", current="Unlock-ADAccount jane")
    assert draft["script"] == "Unlock-ADAccount -Identity {{ user }}"
    assert (
        '<data source="engineer_draft">\nUnlock-ADAccount jane\n</data>'
        in fake_anthropic.requests[-1]["messages"][0]["content"]
    )


def test_a_failed_draft_keeps_what_the_engineer_had_written(session, fake_anthropic, client):
    fix = fixes.fix_propose(session=session, step=None, title="Unlock the account")
    fake_anthropic.enqueue(Reply.error(529), Reply.error(529), Reply.error(529))
    client.force_login(session.owner)
    response = client.post(
        _draft_url(session, fix), {"request": "", "body": "Unlock-ADAccount jane"}, headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "Your script is kept; try again." in page
    assert "Unlock-ADAccount jane</textarea>" in page


def test_drafting_is_refused_for_a_superseded_fix_and_for_others(session, tenant_a, tenant_b, client):
    old = fixes.fix_propose(session=session, step=None, title="First idea")
    fixes.fix_propose(session=session, step=None, title="Second idea")
    with pytest.raises(Conflict):
        script_draft(fix=old, actor=session.owner)
    with pytest.raises(InvalidInput):
        script_draft(fix=old, actor=session.owner, request="x" * 2001)
    for outsider in (tenant_b.engineer, tenant_a.coverage_engineer, tenant_a.l1):
        client.force_login(outsider)
        assert client.post(_draft_url(session, old), {"request": "go"}).status_code in (403, 404)
    client.force_login(tenant_b.engineer)
    assert client.post(_draft_url(session, old)).status_code == 404


def test_the_demo_drafts_a_script_that_fits_the_fix(session):
    fix = fixes.fix_propose(session=session, step=None, title="Unlock Jane's AD account", description="Locked out")
    draft = script_draft(fix=fix, actor=session.owner, request="")
    assert "Unlock-ADAccount" in draft["script"] and "{{ user_name }}" in draft["script"]
    assert "user_name" in draft["explanation"]
    revised = script_draft(fix=fix, actor=session.owner, request="stop on errors", current="Unlock-ADAccount bob")
    assert revised["script"] == "$ErrorActionPreference = 'Stop'\nUnlock-ADAccount bob"
    assert revised["explanation"].startswith("Your draft, revised: it stops at the first error.")


def _resolved_with_draft(session, body="Restart-Service -Name {{ service_name }}"):
    fix = fixes.fix_propose(session=session, step=None, title="Restart the print spooler")
    fix_attach_script(fix=fix, actor=session.owner, body=body)
    fixes.fix_decide(fix=fix, actor=session.owner, decision="draft_template")  # run now, templatize after
    fix_run_script(fix=fix, actor=session.owner, values={"service_name": "Spooler"})
    lifecycle.session_resolve(session=session, actor=session.owner, code="fixed", summary="Spooler restarted.")
    return TemplateDraft.objects.get(session=session)


def test_run_now_templatize_after_queues_a_draft_and_stamps_applied(session):
    draft = _resolved_with_draft(session)
    assert draft.status == "pending" and draft.parameters[0]["key"] == "service_name"
    assert draft.fix.applied_at is not None


def test_accepting_a_draft_makes_a_template_that_says_where_it_came_from(session):
    draft = _resolved_with_draft(session)
    template = template_draft_accept(
        draft=draft, actor=session.owner, name="Restart spooler", category="Printing", remove_parameters=[]
    )
    assert template.visibility == "personal" and template.owner == session.owner
    assert template.provenance.startswith(f"from session #{session.pk} · resolved by ")
    assert template.source_session == session
    with pytest.raises(Conflict) as err:
        template_draft_accept(draft=draft, actor=session.owner, name="Again")
    assert "already decided" in err.value.message
    with pytest.raises(Conflict):
        template_draft_reject(draft=draft, actor=session.owner)


def test_removing_a_parameter_leaves_a_valid_template(session):
    draft = _resolved_with_draft(session)
    template = template_draft_accept(
        draft=draft, actor=session.owner, name="Restart", remove_parameters=["service_name"]
    )
    assert template.parameters == [] and "{{" not in template.body


def test_only_owners_and_admins_share_with_a_team(session, tenant_a):
    draft = _resolved_with_draft(session)
    with pytest.raises(PermissionDenied):
        template_draft_accept(draft=draft, actor=session.owner, name="Restart", share_with_team=True)
    draft.refresh_from_db()
    assert draft.status == "pending"
    template = template_draft_accept(draft=draft, actor=tenant_a.admin, name="Restart", share_with_team=True)
    assert (template.visibility, template.team) == ("team", tenant_a.team)


def test_skipping_with_dont_ask_again_stops_drafts_for_the_team(session, tenant_a):
    draft = _resolved_with_draft(session)
    template_draft_reject(draft=draft, actor=session.owner, dont_ask_again_for_team=True)
    draft.refresh_from_db()
    assert draft.status == "rejected"
    assert tenant_a.team.pk in account_settings_get(account=tenant_a.account).preferences["templatize_prompt_off_teams"]
    second = AISessionFactory(owner=tenant_a.engineer, team=tenant_a.team)
    fix = fixes.fix_propose(session=second, step=None, title="Again")
    fix_attach_script(fix=fix, actor=second.owner, body="Restart-Computer")
    fixes.fix_decide(fix=fix, actor=second.owner, decision="draft_template")
    fix_run_script(fix=fix, actor=second.owner, values={})
    assert not TemplateDraft.objects.filter(session=second).exists()
    assert not ScriptTemplate.objects.exists()


def test_drafts_wait_for_resolve(session):
    fix = fixes.fix_propose(session=session, step=None, title="Restart")
    fix_attach_script(fix=fix, actor=session.owner, body="Restart-Computer")
    fixes.fix_decide(fix=fix, actor=session.owner, decision="draft_template")
    fix_run_script(fix=fix, actor=session.owner, values={})
    draft = TemplateDraft.objects.get()
    with pytest.raises(Conflict) as err:
        template_draft_accept(draft=draft, actor=session.owner, name="Restart")
    assert "once the session is resolved" in err.value.message


def test_the_secret_is_shown_once_to_its_author_and_never_again_on_the_page(session, template, client):
    client.force_login(session.owner)
    response = client.post(
        f"/sessions/{session.pk}/scripts/generate/",
        {"template": template.pk, "param_user": "jane", "param_new_password": SECRET},
        headers={"HX-Request": "true"},
    )
    shown = response.content.decode()
    assert response.status_code == 200 and 'data-testid="generated-script"' in shown
    assert "Tr0ub4dor&amp;3&#x27;&#x27;$(calc)" in shown  # once, in the answer to the author's request
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Tr0ub4dor" not in page
    assert 'data-testid="generation-history"' in page and "********" in page
