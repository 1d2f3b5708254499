"""The suggested fix's card and banner (SPEC §4). Each action binds its form, runs one service on
the fix and answers the banner, with the card and the escalate form out of band."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from resolutionflow.accounts.tenancy import get_for_account
from resolutionflow.errors import Conflict, InvalidInput
from resolutionflow.htmx import STATE_CHANGED, form_error_message, region_response
from sessions_app.forms import AIOutcomeForm, FixDecisionForm, FixOutcomeForm
from sessions_app.models import SuggestedFix
from sessions_app.selectors import session_fix_context, session_get_for_user
from sessions_app.services import fixes


def _fix_action(request, session_id: int, fix_id: int, form_class, act):
    """Load the session's fix (404 for anyone who may not open the session), bind the form, run
    one service on it, and answer the banner and card — with the reason when it is refused."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    fix = get_for_account(SuggestedFix.objects.filter(session=session), account=session.account_id, pk=fix_id)
    form = form_class(request.POST) if form_class else None
    error = form_error_message(form) if form is not None and not form.is_valid() else ""
    if not error:
        try:
            answer = act(fix, form.cleaned_data if form is not None else {})
        except (InvalidInput, Conflict) as exc:
            error = exc.message
        else:
            if isinstance(answer, HttpResponse):  # the action leads to a page of its own
                return answer
    return region_response(
        request,
        "sessions_app/partials/_fix_update.html",
        lambda: {**session_fix_context(session=session), "fix_error": error},
        redirect_to=reverse("sessions_app:detail", args=[session.pk]),
        error=error,
        trigger=STATE_CHANGED,
    )


@login_required
@require_POST
def fix_decide(request, session_id: int, fix_id: int):
    """Each choice opens what it names: run as one-off and run now, templatize after open the
    script's parameter form in the card; build a template first opens the template editor."""

    def act(fix, data):
        fix = fixes.fix_decide(fix=fix, actor=request.user, decision=data["decision"])
        if fix.decision == SuggestedFix.Decision.BUILD_TEMPLATE and fix.is_active:
            editor = reverse("sessions_app:fix_template", args=[session_id, fix.pk])
            response = HttpResponseClientRedirect(editor) if request.htmx else redirect(editor)
            patch_vary_headers(response, ("HX-Request",))
            return response
        return None

    return _fix_action(request, session_id, fix_id, FixDecisionForm, act)


@login_required
@require_POST
def fix_outcome(request, session_id: int, fix_id: int):
    return _fix_action(
        request, session_id, fix_id, FixOutcomeForm,
        lambda fix, data: fixes.fix_record_outcome(fix=fix, actor=request.user, outcome=data["outcome"],
                                                   note=data["note"]),
    )  # fmt: skip


@login_required
@require_POST
def fix_applied(request, session_id: int, fix_id: int):
    return _fix_action(
        request, session_id, fix_id, None, lambda fix, data: fixes.fix_mark_applied(fix=fix, actor=request.user)
    )


@login_required
@require_POST
def fix_ai_outcome(request, session_id: int, fix_id: int):
    def act(fix, data):
        answer = fixes.fix_confirm_ai_outcome if data["answer"] == "confirm" else fixes.fix_reject_ai_outcome
        answer(fix=fix, actor=request.user)

    return _fix_action(request, session_id, fix_id, AIOutcomeForm, act)
