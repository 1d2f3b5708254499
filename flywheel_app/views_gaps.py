"""The knowledge gaps' action (SPEC §8, issue 14 §1): "draft a flow" starts a new-flow proposal from
the sessions behind a gap and opens it in the review queue. The gap is named by its key and period
and looked up in the actor's own account's gaps, so another account's gap is not found (404)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from resolutionflow.accounts.tenancy import admin_required
from resolutionflow.errors import InvalidInput

from . import analysis
from .analytics.gaps import gap_get
from .forms import GapDraftForm


@require_POST
@admin_required
def gap_draft_flow(request: HttpRequest) -> HttpResponse:
    form = GapDraftForm(request.POST)
    if not form.is_valid():
        raise InvalidInput("Say which knowledge gap to draft a flow from.")
    gap = gap_get(account_id=request.user.account_id, days=form.cleaned_data["days"], key=form.cleaned_data["gap"])
    proposal = analysis.gap_draft_flow(actor=request.user, gap=gap)
    url = reverse("admin:flywheel_app_flowproposal_change", args=[proposal.pk])
    response = HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    patch_vary_headers(response, ["HX-Request"])
    return response
