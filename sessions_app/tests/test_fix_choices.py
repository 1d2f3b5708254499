"""Each choice on a fix opens what it names (issue #10, point 3; SPEC §4, §5), through the page:

- run as one-off: the script's parameter form, one typed field per parameter; on submit the
  rendered script (safely quoted) with Copy, a generation, and the fix applied;
- run now, templatize after resolve: the same, and a draft offered for review after Resolve;
- build a template first: the template editor filled in from the fix; nothing runs; saving creates
  the template, attaches it, and the fix then asks for the template's parameters;
- the script builder: every placeholder of the attached script is a parameter with a field;
- a failed or partial fix can be dismissed from the card."""

import html
import re

import pytest
from django.urls import reverse

from resolutionflow.accounts.models import AuditLog
from resolutionflow.ai.fake_api import Reply
from resolutionflow.errors import Conflict
from sessions_app.demo import _SCRIPT_BODIES
from sessions_app.models import AISession, ScriptGeneration, ScriptTemplate, SuggestedFix, TemplateDraft
from sessions_app.powershell import REDACTED, placeholder_position_errors, ps_quote
from sessions_app.services import fixes, scripts

from .factories import AISessionFactory, ScriptTemplateFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
SECRET = "Harbor-7f3Q'$(calc)"
PARAMS = [
    {"key": "sam_account_name", "label": "Account (sAMAccountName)", "type": "text", "required": True},
    {"key": "temporary_password", "label": "Temporary password", "type": "password", "required": True},
    {"key": "unlock_wait", "label": "Seconds to wait", "type": "number", "required": False, "default": 5},
    {"key": "site", "label": "Site", "type": "choice", "required": True, "choices": ["HQ", "Branch"]},
    {"key": "force_change", "label": "Must change at sign-in", "type": "boolean", "required": False, "default": True},
]
BODY = (
    "Unlock-ADAccount -Identity {{ sam_account_name }} -Server {{ site }}\n"
    "Start-Sleep -Seconds {{ unlock_wait }}\n"
    "Set-ADAccountPassword -Identity {{ sam_account_name }} -Reset "
    "-NewPassword (ConvertTo-SecureString {{ temporary_password }} -AsPlainText -Force)\n"
    "Set-ADUser -Identity {{ sam_account_name }} -ChangePasswordAtLogon {{ force_change }}"
)
BUILDER_SCRIPT = (
    "$computer = {{ computer_name }}\n"
    "$credential = {{ admin_password }}\n"
    'Write-Host "Restarting the spooler on $computer"\n'
    "Restart-Service -InputObject (Get-Service -ComputerName $computer -Name Spooler) -Force"
)
VALUES = {
    "param_sam_account_name": "dwhitfield",
    "param_temporary_password": SECRET,
    "param_unlock_wait": "10",
    "param_site": "Branch",
    "param_force_change": "yes",
}


@pytest.fixture
def session(tenant_a):
    return AISessionFactory(owner=tenant_a.engineer, team=tenant_a.team)


@pytest.fixture
def template(tenant_a):
    return ScriptTemplateFactory(
        account=tenant_a.account, visibility="team", team=None, name="Unlock an AD account", slug="unlock-ad-account",
        body=BODY, parameters=PARAMS,
    )  # fmt: skip


def _template_fix(session, template):
    return fixes.fix_propose(
        session=session, step=None, title="Unlock Dana's account", description="Locked out after a password change",
        script_template_slug=template.slug, script_parameters={"sam_account_name": "dwhitfield"},
    )  # fmt: skip


def _builder_fix(session, body=BUILDER_SCRIPT):
    fix = fixes.fix_propose(session=session, step=None, title="Restart the print spooler on the print server")
    return scripts.fix_attach_script(fix=fix, actor=session.owner, body=body)


def _version(session) -> int:
    return AISession.objects.values_list("state_version", flat=True).get(pk=session.pk)


def _decide(client, session, fix, decision, **headers):
    return client.post(reverse("sessions_app:fix_decide", args=[session.pk, fix.pk]), {"decision": decision},
                       headers=headers)  # fmt: skip


def _run(client, session, fix, data, **headers):
    return client.post(reverse("sessions_app:fix_run", args=[session.pk, fix.pk]), data, headers=headers)


def _field(page: str, name: str) -> str:
    """The markup of the form field named `name` (its <input> or <select>)."""
    found = re.search(rf'<(input|select)[^>]*name="{name}"[^>]*>(.*?</select>)?', page, re.DOTALL)
    assert found, f"no field {name}"
    return found.group(0)


def _field_block(page: str, name: str) -> str:
    """The `.field` wrapper of the field named `name`: its label, widget and messages (up to the next
    field or the end of the form; its help text is a <div> of its own)."""
    found = re.search(
        rf'<div class="field[^"]*">(?:(?!<div class="field).)*?name="{name}"(?:(?!<div class="field|</form>).)*',
        page,
        re.DOTALL,
    )
    assert found, f"no field block for {name}"
    return found.group(0)


# --- run as one-off ------------------------------------------------------------------------------


def test_run_as_one_off_opens_the_parameter_form_with_a_typed_field_per_parameter(session, template, client):
    fix = _template_fix(session, template)
    client.force_login(session.owner)

    response = _decide(client, session, fix, "one_off", **HTMX)

    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="run-form"' in page
    assert "Run as one-off:" in page and 'aria-pressed="true">Run as one-off' in page
    assert 'type="text"' in _field(page, "param_sam_account_name")
    assert 'value="dwhitfield"' in _field(page, "param_sam_account_name")  # the AI's pre-filled value
    assert 'type="password"' in _field(page, "param_temporary_password")
    assert 'type="number"' in _field(page, "param_unlock_wait") and 'value="5"' in _field(page, "param_unlock_wait")
    site = _field(page, "param_site")
    assert site.startswith("<select") and ">HQ</option>" in site and ">Branch</option>" in site
    boolean = _field(page, "param_force_change")
    assert boolean.startswith("<select") and '<option value="yes" selected>Yes</option>' in boolean
    assert "Account (sAMAccountName)" in page and "Must change at sign-in" in page
    # Opening the form runs nothing.
    fix.refresh_from_db()
    assert fix.decision == "one_off" and fix.applied_at is None and not ScriptGeneration.objects.exists()
    assert 'data-banner-mode="verifying"' not in page


def test_submitting_the_form_shows_the_rendered_script_records_it_and_applies_the_fix(session, template, client):
    fix = _template_fix(session, template)
    client.force_login(session.owner)
    _decide(client, session, fix, "one_off", **HTMX)
    before = _version(session)

    response = _run(client, session, fix, VALUES, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert 'data-testid="generated-script"' in page and 'data-copy="#generated-script"' in page
    shown = re.search(r'<pre class="script small" id="generated-script"[^>]*>(.*?)</pre>', page, re.DOTALL).group(1)
    assert "Unlock-ADAccount -Identity &#x27;dwhitfield&#x27; -Server &#x27;Branch&#x27;" in shown
    assert "Start-Sleep -Seconds 10\n" in shown and "-ChangePasswordAtLogon $true" in shown
    assert "ConvertTo-SecureString &#x27;Harbor-7f3Q&#x27;&#x27;$(calc)&#x27;" in shown  # quoted: nothing runs
    # SPEC §4: running it one-off says it ran — the banner asks whether it worked.
    assert 'data-banner-mode="verifying"' in page and "I ran this" not in page
    fix.refresh_from_db()
    assert fix.applied_at is not None and fix.outcome == "proposed" and fix.decision == "one_off"
    generation = ScriptGeneration.objects.get()
    assert (generation.fix, generation.template, generation.author) == (fix, template, session.owner)
    assert generation.parameters["temporary_password"] == REDACTED and "Harbor" not in generation.script
    template.refresh_from_db()
    assert template.usage_count == 1
    assert _version(session) > before
    assert AuditLog.objects.filter(action="fix.run", object_id=str(fix.pk)).exists()
    # Shown once: the page drawn afterwards has the redacted script only.
    later = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Harbor" not in later and ps_quote(REDACTED).replace("'", "&#x27;") in later


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("param_unlock_wait", "ten", "Seconds to wait must be a number."),
        ("param_site", "Moon base", "Site must be one of: HQ, Branch."),
        ("param_sam_account_name", "  ", "Account (sAMAccountName) is required."),
        ("param_temporary_password", "", "Temporary password is required."),
        ("param_force_change", "perhaps", "Must change at sign-in must be yes or no."),
    ],
)
def test_a_bad_value_is_told_beside_its_field_and_changes_nothing(session, template, client, field, value, message):
    fix = _template_fix(session, template)
    client.force_login(session.owner)
    _decide(client, session, fix, "one_off", **HTMX)
    before = _version(session)

    response = _run(client, session, fix, {**VALUES, field: value}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="run-form"' in page
    block = _field_block(page, field)
    assert "field-invalid" in block and f'<p class="field-error" role="alert">{message}</p>' in block
    assert "Harbor" not in page  # a password is never sent back
    assert not [h for h in response.headers if h.startswith("HX-Trigger")]
    fix.refresh_from_db()
    assert fix.applied_at is None and not ScriptGeneration.objects.exists() and _version(session) == before


def test_without_javascript_a_bad_value_comes_back_on_the_page_and_the_script_on_the_page(session, template, client):
    fix = _template_fix(session, template)
    client.force_login(session.owner)
    assert _decide(client, session, fix, "one_off").status_code == 302

    refused = _run(client, session, fix, {**VALUES, "param_unlock_wait": "ten"})
    assert refused.status_code == 400 and "<html" in refused.content.decode()
    assert "Seconds to wait must be a number." in _field_block(refused.content.decode(), "param_unlock_wait")

    shown = _run(client, session, fix, VALUES)
    page = shown.content.decode()
    assert shown.status_code == 200 and "<html" in page and 'data-testid="generated-script"' in page
    assert "Harbor-7f3Q" in page  # once, in the answer to the author's own request


def test_the_script_runs_only_after_a_choice_and_only_once(session, template, client):
    fix = _template_fix(session, template)
    with pytest.raises(Conflict, match="Choose how to apply the fix first"):
        scripts.fix_run_script(fix=fix, actor=session.owner, values={})
    fixes.fix_decide(fix=fix, actor=session.owner, decision="one_off")
    values = {k.removeprefix("param_"): v for k, v in VALUES.items()}
    scripts.fix_run_script(fix=fix, actor=session.owner, values=values)
    client.force_login(session.owner)
    page = _run(client, session, fix, VALUES, **HTMX).content.decode()
    assert "already applied" in page and ScriptGeneration.objects.count() == 1


# --- run now, templatize after resolve -----------------------------------------------------------


def test_run_now_templatize_after_runs_it_and_offers_the_draft_after_resolve(session, client):
    fix = _builder_fix(session)
    client.force_login(session.owner)

    opened = _decide(client, session, fix, "draft_template", **HTMX).content.decode()
    assert 'data-testid="run-form"' in opened and "After Resolve you are offered to save it as a template." in opened
    assert not TemplateDraft.objects.exists()  # choosing queues nothing: running does

    values = {"param_computer_name": "PRN-01", "param_admin_password": "s3cret!"}
    ran = _run(client, session, fix, values, **HTMX).content.decode()
    assert "$computer = &#x27;PRN-01&#x27;" in ran and 'data-banner-mode="verifying"' in ran
    _run(client, session, fix, values, **HTMX)  # a second render queues no second draft
    fix.refresh_from_db()
    assert fix.applied_at is not None
    draft = TemplateDraft.objects.get()
    assert draft.fix == fix and draft.body == BUILDER_SCRIPT
    assert [(p["key"], p["type"]) for p in draft.parameters] == [
        ("computer_name", "text"),
        ("admin_password", "password"),
    ]

    resolved = client.post(
        f"/sessions/{session.pk}/resolve/", {"code": "fixed", "summary": "Spooler restarted on PRN-01."}
    )
    assert resolved.status_code == 302 and resolved["Location"] == reverse("sessions_app:drafts", args=[session.pk])
    review = client.get(resolved["Location"]).content.decode()
    assert "Save what you ran as a template?" in review and "Computer name" in review and "Admin password" in review
    saved = client.post(resolved["Location"], {"draft": draft.pk, "action": "accept", "name": "Restart spooler"})
    assert saved.status_code == 302
    template = ScriptTemplate.objects.get(name="Restart spooler")
    assert template.body == BUILDER_SCRIPT and template.source_session == session


# --- build a template first ---------------------------------------------------------------------


def _editor_url(session, fix):
    return reverse("sessions_app:fix_template", args=[session.pk, fix.pk])


EDITOR_SAVE = {
    "action": "save", "name": "Restart the print spooler", "category": "Printing", "description": "Restarts it.",
    "body": BUILDER_SCRIPT,
    "p_computer_name_label": "Print server", "p_computer_name_type": "text", "p_computer_name_required": "on",
    "p_computer_name_default": "PRN-01", "p_computer_name_choices": "",
    "p_admin_password_label": "Admin password", "p_admin_password_type": "password",
    "p_admin_password_required": "on", "p_admin_password_default": "", "p_admin_password_choices": "",
}  # fmt: skip


def test_build_a_template_first_opens_the_editor_filled_in_from_the_fix(session, client):
    fix = _builder_fix(session)
    client.force_login(session.owner)

    response = _decide(client, session, fix, "build_template", **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == _editor_url(session, fix)
    assert _decide(client, session, fix, "build_template")["Location"] == _editor_url(session, fix)

    page = client.get(_editor_url(session, fix)).content.decode()
    assert "Build a template first" in page and "Nothing runs here" in page
    assert 'value="Restart the print spooler on the print server"' in page  # the name, from the fix's title
    assert "$computer = {{ computer_name }}" in page  # the body
    assert page.count('data-testid="param-row"') == 2
    assert 'name="p_computer_name_label" value="Computer name"' in page
    assert re.search(r'<option value="password" selected>', _field(page, "p_admin_password_type"))
    fix.refresh_from_db()
    assert fix.decision == "build_template" and fix.applied_at is None and not ScriptGeneration.objects.exists()
    assert not ScriptTemplate.objects.exists()


def test_saving_the_template_attaches_it_and_the_fix_asks_for_its_parameters(session, client):
    fix = _builder_fix(session)
    client.force_login(session.owner)
    _decide(client, session, fix, "build_template")
    before = _version(session)

    response = client.post(_editor_url(session, fix), EDITOR_SAVE)

    assert response.status_code == 302
    assert response["Location"] == reverse("sessions_app:detail", args=[session.pk]) + "#sessions_app-fix-card"
    template = ScriptTemplate.objects.get()
    assert (template.name, template.slug, template.category) == (
        "Restart the print spooler",
        "restart-the-print-spooler",
        "Printing",
    )
    assert template.visibility == "personal" and template.owner == session.owner and template.source_session == session
    assert template.provenance == f"from session #{session.pk} · built by {session.owner.get_short_name()}"
    assert template.parameters == [
        {"key": "computer_name", "label": "Print server", "type": "text", "required": True, "default": "PRN-01"},
        {"key": "admin_password", "label": "Admin password", "type": "password", "required": True},
    ]
    fix.refresh_from_db()
    assert fix.script_template == template and fix.applied_at is None and not ScriptGeneration.objects.exists()
    assert _version(session) > before

    page = client.get(response["Location"]).content.decode()
    assert "Saved “Restart the print spooler” as a template" in page
    assert 'data-testid="run-form"' in page and "Run the template:" in page
    assert "the template you built" in page and ">Build a template first</button>" not in page  # it is built
    assert 'name="param_computer_name"' in page and 'value="PRN-01"' in _field(page, "param_computer_name")
    assert "Print server" in page and 'type="password"' in _field(page, "param_admin_password")

    ran = _run(client, session, fix, {"param_computer_name": "PRN-02", "param_admin_password": "x"}, **HTMX)
    assert "$computer = &#x27;PRN-02&#x27;" in ran.content.decode()
    fix.refresh_from_db()
    assert fix.applied_at is not None and ScriptGeneration.objects.get().template == template


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Give the template a name."),
        ({"body": 'Write-Host "On {{ computer_name }}"\n$credential = {{ admin_password }}'}, "body",
         "stands inside a double-quoted string"),
        ({"p_admin_password_default": "hunter2"}, "p_admin_password_default", "A password has no default"),
        ({"p_computer_name_type": "choice"}, "p_computer_name_choices", "List the choices"),
        ({"p_computer_name_type": "number"}, "p_computer_name_default", "Print server must be a number."),
        ({"p_computer_name_label": ""}, "p_computer_name_label", "Give {{ computer_name }} a label."),
    ],
)  # fmt: skip
def test_the_editor_refuses_what_would_make_a_bad_template_and_saves_nothing(session, client, changes, field, message):
    fix = _builder_fix(session)
    client.force_login(session.owner)
    before = _version(session)

    response = client.post(_editor_url(session, fix), {**EDITOR_SAVE, **changes})

    page = response.content.decode()
    assert response.status_code == 400 and message in _field_block(page, field)
    assert not ScriptTemplate.objects.exists() and _version(session) == before


def test_a_placeholder_written_in_the_editor_gets_its_row_before_anything_is_saved(session, client):
    fix = _builder_fix(session)
    client.force_login(session.owner)
    body = BUILDER_SCRIPT + "\n$queue = {{ printer_queue }}"

    response = client.post(_editor_url(session, fix), {**EDITOR_SAVE, "body": body})

    page = response.content.decode()
    assert response.status_code == 200 and "new placeholders ({{ printer_queue }})" in page
    assert page.count('data-testid="param-row"') == 3
    assert 'name="p_printer_queue_label" value="Printer queue"' in page
    assert 'name="p_computer_name_label" value="Print server"' in page  # what was typed stays
    assert not ScriptTemplate.objects.exists()


def test_only_owners_and_admins_share_the_template_they_build(session, tenant_a, client):
    fix = _builder_fix(session)
    client.force_login(session.owner)
    assert 'name="share"' not in client.get(_editor_url(session, fix)).content.decode()
    assert client.post(_editor_url(session, fix), {**EDITOR_SAVE, "share": "on"}).status_code == 302
    assert ScriptTemplate.objects.get().visibility == "personal"  # the field is not there for an engineer


def test_the_editor_is_the_sessions_engineers_alone(session, tenant_a, tenant_b, client):
    fix = _builder_fix(session)
    AISession.objects.filter(pk=session.pk).update(status="requesting_escalation")
    client.force_login(tenant_a.coverage_engineer)  # may read the session while it awaits pickup
    assert client.get(_editor_url(session, fix)).status_code == 403
    client.force_login(tenant_b.engineer)
    assert client.get(_editor_url(session, fix)).status_code == 404


# Pinned costs: the editor reads the user, the session and the fix (with its template); running the
# script locks the session and the fix, records the generation and the stamp, and answers the banner
# and card (the fix, generations, templates, escalation targets) — counted the way production runs
# it, in its own transaction.
EDITOR_QUERIES = 3
RUN_QUERIES = 21


def test_the_editor_page_costs_a_fixed_number_of_queries(session, template, client, django_assert_max_num_queries):
    fix = _template_fix(session, template)
    client.force_login(session.owner)
    client.get(_editor_url(session, fix))
    with django_assert_max_num_queries(EDITOR_QUERIES):
        response = client.get(_editor_url(session, fix))
    assert response.status_code == 200 and page_rows(response) == len(PARAMS)


def page_rows(response) -> int:
    return response.content.decode().count('data-testid="param-row"')


@pytest.mark.django_db(transaction=True)
def test_running_the_script_costs_a_fixed_number_of_queries(tenant_a, client, django_assert_max_num_queries):
    session = AISessionFactory(owner=tenant_a.engineer, team=tenant_a.team)
    fix = _builder_fix(session)
    client.force_login(session.owner)
    _decide(client, session, fix, "one_off", **HTMX)
    with django_assert_max_num_queries(RUN_QUERIES):
        response = _run(client, session, fix, {"param_computer_name": "PRN-01", "param_admin_password": "x"}, **HTMX)
    assert 'data-testid="generated-script"' in response.content.decode()


# --- the script builder: every placeholder is a parameter with a field -------------------------


def test_every_placeholder_of_the_builders_script_is_a_parameter_with_a_field(session, client):
    fix = _builder_fix(session)
    client.force_login(session.owner)
    card = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "asks for Computer name, Admin password" in card

    page = _decide(client, session, fix, "one_off", **HTMX).content.decode()

    assert 'type="text"' in _field(page, "param_computer_name") and "Computer name" in page
    assert 'type="password"' in _field(page, "param_admin_password") and "Admin password" in page
    missing = _run(client, session, fix, {"param_computer_name": "PRN-01"}, **HTMX).content.decode()
    assert "Admin password is required." in _field_block(missing, "param_admin_password")
    ran = _run(client, session, fix, {"param_computer_name": "PRN-01", "param_admin_password": "p@ss'w"}, **HTMX)
    assert "$credential = &#x27;p@ss&#x27;&#x27;w&#x27;" in ran.content.decode()
    generation = ScriptGeneration.objects.get()
    assert generation.template is None and generation.fix == fix
    assert generation.parameters == {"computer_name": "PRN-01", "admin_password": REDACTED}
    assert "p@ss" not in generation.script


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('Write-Host "Restarting on {{ computer_name }}"', "stands inside a double-quoted string"),
        ("# for {{ computer_name }}\nRestart-Computer", "inside a # comment"),
        ("$x = {{ " + "k" * 41 + " }}", "must be letters, digits or _"),
    ],
)
def test_the_builder_refuses_a_placeholder_that_could_not_be_a_safe_parameter(session, client, body, message):
    fix = fixes.fix_propose(session=session, step=None, title="Restart the spooler")
    client.force_login(session.owner)
    response = client.post(f"/sessions/{session.pk}/fix/{fix.pk}/script/", {"body": body}, headers=HTMX)
    assert message in response.content.decode()
    fix.refresh_from_db()
    assert fix.script_body == ""


# --- dismissing a failed or partial fix ----------------------------------------------------------


@pytest.mark.parametrize(("outcome", "note"), [("applied_failed", "Still prompts"), ("applied_partial", "2 of 3")])
def test_the_card_dismisses_a_failed_or_partial_fix_which_stays_as_history(session, client, outcome, note):
    fix = fixes.fix_propose(session=session, step=None, title="Clear cached Office credentials")
    fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome=outcome, note=note)
    client.force_login(session.owner)
    card = client.get(f"/sessions/{session.pk}/").content.decode()
    fix_card = card[card.index('id="sessions_app-fix-card"') :]
    assert re.search(r'<button class="btn btn-small" name="decision" value="dismissed">Dismiss</button>', fix_card)

    response = _decide(client, session, fix, "dismissed", **HTMX)

    page = response.content.decode()
    assert response.status_code == 200 and "data-banner-mode" not in page  # the banner is empty
    assert "When the evidence points at a fix" in page
    assert 'data-testid="earlier-fixes"' in page and "Clear cached Office credentials" in page and note in page
    fix.refresh_from_db()
    assert fix.superseded_at is not None and fix.decision == "dismissed" and fix.outcome == outcome
    assert SuggestedFix.objects.filter(session=session).count() == 1


def test_a_fix_that_worked_offers_no_dismiss(session, client):
    fix = fixes.fix_propose(session=session, step=None, title="Clear cached Office credentials")
    fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_success")
    client.force_login(session.owner)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'value="dismissed"' not in page
    refused = _decide(client, session, fix, "dismissed", **HTMX).content.decode()
    assert "This fix worked; there is nothing to dismiss." in refused


# --- the demo builder drafts with the engineer: the request shapes the script ------------------


def _draft(client, session, fix, request, body=""):
    response = client.post(
        reverse("sessions_app:fix_script_draft", args=[session.pk, fix.pk]), {"request": request, "body": body},
        headers=HTMX,
    )  # fmt: skip
    page = response.content.decode()
    script = re.search(r'<textarea name="body" id="builder-body"[^>]*>(.*?)</textarea>', page, re.DOTALL).group(1)
    note = re.search(r'data-testid="builder-note">(.*?)</p>', page, re.DOTALL).group(1)
    return html.unescape(script), html.unescape(note)


@pytest.fixture
def spooler_fix(session):
    return fixes.fix_propose(session=session, step=None, title="Restart the print spooler on the print server")


def test_the_demo_builder_drafts_a_script_whose_placeholders_can_be_filled(session, spooler_fix, client):
    client.force_login(session.owner)
    script, note = _draft(client, session, spooler_fix, "")
    assert "$computer = {{ computer_name }}" in script and "Restart-Service" in script
    assert "Fill in computer_name when you run it." in note
    fix = scripts.fix_attach_script(fix=spooler_fix, actor=session.owner, body=script)  # a placeholder in code
    assert [p["key"] for p in fix.script_schema] == ["computer_name"]


def test_the_engineers_request_shapes_the_demo_script(session, spooler_fix, client):
    client.force_login(session.owner)
    plain, _ = _draft(client, session, spooler_fix, "")

    named, note = _draft(client, session, spooler_fix, "use Get-Printer on PRN-01")
    assert "$computer = 'PRN-01'" in named and "{{ computer_name }}" not in named and "Get-Printer" in named
    assert "it runs against PRN-01" in note and named != plain

    checks, note = _draft(client, session, spooler_fix, "only check, don't restart")
    assert "Restart-Service" not in checks and "Get-Service" in checks
    assert "it only checks: what changes things is left out (Restart-Service)" in note

    dry, note = _draft(client, session, spooler_fix, "dry run and log it")
    assert "Restart-Service -InputObject $service -Force -WhatIf" in dry and "Start-Transcript -Path $log" in dry
    assert "-WhatIf" in note and "log_path" in note

    added, note = _draft(client, session, spooler_fix, "also use Test-NetConnection")
    assert "Test-NetConnection -ComputerName $computer" in added and "check its parameters" in note

    revised, note = _draft(
        client, session, spooler_fix, "don't restart", body="$c = {{ server }}\nRestart-Service -Name Spooler"
    )
    assert "Restart-Service" not in revised and "$c = {{ server }}" in revised and "left out" in note

    for script in (named, checks, dry, added, revised):
        scripts.fix_attach_script(fix=spooler_fix, actor=session.owner, body=script)  # each one attaches


@pytest.mark.parametrize(
    ("title", "request_", "said"),
    [
        ("Restart the print spooler on the print server", "email the manager when it is done",
         "Not done: “email manager done” in your request (the demo builder does not understand it)."),
        ("Unlock Dana's AD account", "run it on DC01",
         "Not done: pointing it at DC01 (this script has no computer to aim at)."),
    ],
)  # fmt: skip
def test_a_request_the_demo_cannot_meet_is_said_plainly(session, client, title, request_, said):
    fix = fixes.fix_propose(session=session, step=None, title=title)
    client.force_login(session.owner)
    _, note = _draft(client, session, fix, request_)
    assert said in note


def test_every_demo_script_puts_its_placeholders_where_code_stands(session):
    for words, body in _SCRIPT_BODIES:
        fix = fixes.fix_propose(session=session, step=None, title=f"Fix the {words[0]} problem")
        draft = scripts.script_draft(fix=fix, actor=session.owner, request="")
        assert body.splitlines()[-1] in draft["script"] and draft["problems"] == []
        assert placeholder_position_errors(draft["script"]) == []


def test_a_drafted_placeholder_that_attaching_would_refuse_is_said_at_once(
    session, spooler_fix, fake_anthropic, client
):
    fake_anthropic.enqueue(
        Reply.json({"script": 'Write-Host "Restarting on {{ computer_name }}"', "explanation": "Restarts it."})
    )
    client.force_login(session.owner)
    page = client.post(
        reverse("sessions_app:fix_script_draft", args=[session.pk, spooler_fix.pk]), {"request": ""}, headers=HTMX
    ).content.decode()
    assert 'data-testid="builder-problem"' in page and "stands inside a double-quoted string" in page
