from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from resolutionflow.accounts.admin import ReadOnlyAdminMixin, TenantScopedAdmin
from resolutionflow.errors import Conflict, InvalidInput, PermissionDenied

from . import analysis, services
from .analytics.base import analytics_invalidate
from .forms import ProposalPublishForm, ProposalRejectForm, TreeJSONField
from .models import Flow, FlowProposal
from .selectors import proposal_tree_comparison
from .tasks import flywheel_analyse_account
from .trees import tree_outline


class FlowAdminForm(forms.ModelForm):
    keywords = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One phrase per line, in the words an engineer or a ticket would use.",
    )

    class Meta:
        model = Flow
        fields = "__all__"
        field_classes = {"tree": TreeJSONField}
        widgets = {"tree": forms.Textarea(attrs={"rows": 18, "cols": 100, "class": "tree-json"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and isinstance(self.instance.keywords, list):
            self.initial["keywords"] = "\n".join(self.instance.keywords)

    def clean_keywords(self):
        return [line.strip() for line in self.cleaned_data["keywords"].splitlines() if line.strip()]


@admin.register(Flow)
class FlowAdmin(TenantScopedAdmin):
    form = FlowAdminForm
    list_display = ["title", "domain", "published", "usage_count", "success_rate_display", "last_matched_at"]
    list_filter = ["published", "domain"]
    search_fields = ["title", "when_to_use"]
    readonly_fields = [
        "tree_view",
        "usage_count",
        "success_count",
        "last_matched_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["title", "domain", "keywords", "when_to_use", "published"]}),
        ("Tree", {"fields": ["tree_view", "tree"], "description": "Edit the JSON; it is validated on save."}),
        (
            "Usage",
            {"fields": ["usage_count", "success_count", "last_matched_at", "created_by", "created_at", "updated_at"]},
        ),
    ]
    actions = ["publish", "unpublish"]

    @admin.display(description="Success rate")
    def success_rate_display(self, obj):
        return "—" if obj.success_rate is None else f"{obj.success_rate:.0%}"

    @admin.display(description="Readable tree")
    def tree_view(self, obj):
        if not obj.pk:
            return "Save the flow to see its tree."
        return render_to_string("flywheel_app/partials/_tree_outline.html", {"items": tree_outline(obj.tree)})

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        analytics_invalidate(account_id=obj.account_id)  # a flow published, edited or withdrawn

    @admin.action(description="Publish selected flows")
    def publish(self, request, queryset):
        queryset.update(published=True)
        for account_id in set(queryset.values_list("account_id", flat=True)):
            analytics_invalidate(account_id=account_id)

    @admin.action(description="Unpublish selected flows")
    def unpublish(self, request, queryset):
        queryset.update(published=False)
        for account_id in set(queryset.values_list("account_id", flat=True)):
            analytics_invalidate(account_id=account_id)

    def get_changeform_initial_data(self, request):
        # The value itself: the form field writes it out as JSON once (a string here was written
        # out a second time, as one long escaped string the form then refused).
        return {"tree": EXAMPLE_TREE}


# Shape only: placeholders an admin replaces, never realistic content.
EXAMPLE_TREE = {
    "start": "q1",
    "nodes": [
        {
            "id": "q1",
            "type": "question",
            "text": "<question>",
            "options": [{"label": "<answer A>", "next": "i1"}, {"label": "<answer B>", "next": "r2"}],
        },
        {"id": "i1", "type": "instruction", "text": "<what to do>", "next": "r1"},
        {"id": "r1", "type": "resolution", "text": "<the fix>"},
        {"id": "r2", "type": "resolution", "text": "<the other fix>"},
    ],
}


# --- the review queue (SPEC §8) ----------------------------------------------------------------

# How many evidence sessions the list links to before it says "and N more".
EVIDENCE_LINKS_IN_LIST = 3


def _session_links(session_ids: list[int], limit: int | None = None):
    shown = session_ids if limit is None else session_ids[:limit]
    links = format_html_join(
        ", ", '<a href="{}">#{}</a>', ((reverse("sessions_app:detail", args=[pk]), pk) for pk in shown)
    )
    more = len(session_ids) - len(shown)
    return format_html("{} and {} more", links, more) if more > 0 else links


def _walk_evidence(proposal: FlowProposal):
    """A proposal captured from an AI-built L1 walk: the walk that resolved by it (and how many
    walks since), never a session link."""
    walks = "walk" if proposal.evidence_count == 1 else "walks"
    return format_html("{} L1 {} (captured from walk #{}, resolved by this path)", proposal.evidence_count, walks,
                       proposal.walk_id)  # fmt: skip


@admin.register(FlowProposal)
class FlowProposalAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """The review queue: owners and admins of one account read the proposals of that account and
    decide them here, only through the services (the same checks and audit rows as anywhere else).
    Nothing is added, edited or deleted in place: the page is read-only, the decisions are its buttons."""

    change_form_template = "admin/flywheel_app/flowproposal/change_form.html"
    list_display = ["title", "type", "source", "status", "domain", "evidence", "validated_by_outcome", "age"]
    list_filter = ["type", "source", "status", "domain", "validated_by_outcome"]
    search_fields = ["title", "description", "keywords"]
    actions = ["dismiss_selected"]
    fields = [
        "title",
        "type",
        "source",
        "status",
        "domain",
        "keyword_list",
        "description",
        "validated_by_outcome",
        "evidence_links",
        "created_at",
    ]
    readonly_fields = fields

    # The queue is a work surface: its columns and the two trees side by side need the width the
    # admin's navigation sidebar would take (the breadcrumbs still lead everywhere).
    WIDE = {"is_nav_sidebar_enabled": False}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("target_flow", "reviewer", "flow")

    def changelist_view(self, request, extra_context=None):
        waiting = analysis.sessions_waiting_count(account_id=request.user.account_id) if request.user.can_admin else 0
        return super().changelist_view(request, {**(extra_context or {}), **self.WIDE, "sessions_waiting": waiting})

    def get_object(self, request, object_id, from_field=None):
        # A missing proposal and another account's look the same: not found (SPEC §1), rather than
        # the admin's usual redirect to its index, which would also be the answer to a decision URL.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such proposal.")
        return obj

    # --- the list --------------------------------------------------------------------------------

    @admin.display(description="Evidence", ordering="evidence_count")
    def evidence(self, obj: FlowProposal):
        if obj.source == FlowProposal.Source.AI_REALTIME_L1:
            return _walk_evidence(obj)
        sessions = "session" if obj.evidence_count == 1 else "sessions"
        links = _session_links(obj.evidence_session_ids, EVIDENCE_LINKS_IN_LIST)
        return format_html('{} {} <span class="evidence-links">({})</span>', obj.evidence_count, sessions, links)

    @admin.display(description="Age", ordering="created_at")
    def age(self, obj: FlowProposal):
        return render_to_string("partials/_ago.html", {"when": obj.created_at})

    @admin.action(description="Dismiss selected proposals")
    def dismiss_selected(self, request, queryset):
        dismissed = services.proposals_dismiss(proposals=queryset, actor=request.user)
        left = queryset.count() - dismissed
        message = f"Dismissed {dismissed} proposal{'' if dismissed == 1 else 's'}."
        if left:
            message += f" {left} already decided: left as {'it was' if left == 1 else 'they were'}."
        self.message_user(request, message, messages.SUCCESS if dismissed else messages.WARNING)

    # --- the detail ------------------------------------------------------------------------------

    @admin.display(description="Keywords")
    def keyword_list(self, obj: FlowProposal):
        return ", ".join(obj.keywords) or "—"

    @admin.display(description="Evidence")
    def evidence_links(self, obj: FlowProposal):
        if obj.source == FlowProposal.Source.AI_REALTIME_L1:
            return _walk_evidence(obj)
        sessions = "session" if obj.evidence_count == 1 else "sessions"
        return format_html("{} {}: {}", obj.evidence_count, sessions, _session_links(obj.evidence_session_ids))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(self.WIDE)
        if obj is not None:
            context.update(
                comparison=proposal_tree_comparison(proposal=obj),
                reject_form=ProposalRejectForm(),
                decision_urls={name: self._url(name, obj) for name in ("approve", "publish", "dismiss", "reject")},
                audit_url=reverse("admin:accounts_auditlog_changelist")
                + "?"
                + urlencode({"object_type": obj._meta.label_lower, "object_id": obj.pk}),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- the decisions ---------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("analyse/", wrap(self.analyse_view), name=f"{name}_analyse"),
            path("<int:proposal_id>/approve/", wrap(self.approve_view), name=f"{name}_approve"),
            path("<int:proposal_id>/publish/", wrap(self.publish_view), name=f"{name}_publish"),
            path("<int:proposal_id>/dismiss/", wrap(self.dismiss_view), name=f"{name}_dismiss"),
            path("<int:proposal_id>/reject/", wrap(self.reject_view), name=f"{name}_reject"),
            *super().get_urls(),
        ]

    def _url(self, view: str, obj) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}", args=[obj.pk])

    def _proposal(self, request: HttpRequest, proposal_id: int) -> FlowProposal:
        """The proposal within the admin's own account (another account's: 404, like a missing one)."""
        return get_object_or_404(self.get_queryset(request), pk=proposal_id)

    def _decide(self, request, proposal: FlowProposal, decide, success) -> HttpResponse:
        """Run one decision; a refusal (decided already, not allowed, not valid) comes back as the
        service's message on the proposal's page, a success as `success(decided)` -> (message, url)."""
        try:
            decided = decide()
        except (Conflict, InvalidInput, PermissionDenied) as error:
            self.message_user(request, error.message, messages.ERROR)
            return redirect(self._url("change", proposal))
        message, url = success(decided)
        self.message_user(request, message, messages.SUCCESS)
        return redirect(url)

    def _flow_url(self, flow: Flow) -> str:
        return reverse("admin:flywheel_app_flow_change", args=[flow.pk])

    def _queue_url(self) -> str:
        return reverse("admin:flywheel_app_flowproposal_changelist") + "?status__exact=pending"

    @method_decorator(require_POST)
    def approve_view(self, request, proposal_id: int):
        proposal = self._proposal(request, proposal_id)
        return self._decide(
            request, proposal, lambda: services.proposal_approve(proposal=proposal, actor=request.user),
            lambda p: (f"Approved: the flow “{p.flow.title}” was created, unpublished. Publish it when it is ready.",
                       self._flow_url(p.flow)),
        )  # fmt: skip

    @method_decorator(require_POST)
    def analyse_view(self, request):
        """ "Analyse waiting sessions now": the account's own batch, without waiting for the beat (on a
        laptop with no beat, the only way besides manage.py analyse_sessions). Runs on the worker, or
        inline where tasks run inline."""
        if not request.user.can_admin:
            raise DjangoPermissionDenied
        waiting = analysis.sessions_waiting_count(account_id=request.user.account_id)
        if not waiting:
            self.message_user(request, "No resolved session is waiting for analysis.", messages.INFO)
            return redirect(self._queue_url())
        result = flywheel_analyse_account.delay(request.user.account_id)
        if result.ready():
            done = result.result or {}
            summary = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(done.items()) if k != "claimed")
            self.message_user(request, f"Analysed {done.get('claimed', 0)} session(s): {summary or 'nothing new'}.")
        else:
            self.message_user(request, f"Analysing {waiting} session(s) in the background: new proposals appear "
                                       "here within a few minutes.")  # fmt: skip
        return redirect(self._queue_url())

    @method_decorator(require_POST)
    def dismiss_view(self, request, proposal_id: int):
        proposal = self._proposal(request, proposal_id)
        return self._decide(
            request, proposal, lambda: services.proposal_dismiss(proposal=proposal, actor=request.user),
            lambda p: (f"Dismissed “{p.title}”.", self._queue_url()),
        )  # fmt: skip

    @method_decorator(require_POST)
    def reject_view(self, request, proposal_id: int):
        proposal = self._proposal(request, proposal_id)
        form = ProposalRejectForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        return self._decide(
            request, proposal, lambda: services.proposal_reject(proposal=proposal, actor=request.user, reason=reason),
            lambda p: (f"Rejected “{p.title}”.", self._queue_url()),
        )  # fmt: skip

    def publish_view(self, request, proposal_id: int):
        """Edit & publish: GET shows the form prefilled from the proposal; POST validates the tree
        (the validator's messages beside it) and publishes through the service."""
        proposal = self._proposal(request, proposal_id)
        if proposal.status != FlowProposal.Status.PENDING and request.method != "POST":
            # Nothing to edit: the proposal's page says who decided it. (A POST goes on to the
            # service, which refuses it with that reason: decided while this page was open.)
            return redirect(self._url("change", proposal))
        form = ProposalPublishForm(request.POST or None, proposal=proposal)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                published = services.proposal_publish(
                    proposal=proposal, actor=request.user, tree=data["tree"], title=data["title"],
                    description=data["description"], keywords=data["keywords"], domain=data["domain"],
                    as_new_flow=form.as_new_flow,
                )  # fmt: skip
            except InvalidInput as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            except (Conflict, PermissionDenied) as error:
                self.message_user(request, error.message, messages.ERROR)
                return redirect(self._url("change", proposal))
            else:
                flow = published.flow
                how = "as a new flow" if form.as_new_flow else "as the new version of its flow"
                self.message_user(request, f"Published “{flow.title}” {how}.", messages.SUCCESS)
                return redirect(self._flow_url(flow))
        context = {
            **self.admin_site.each_context(request),
            **self.WIDE,
            "opts": self.opts,
            "original": proposal,
            "title": f"Edit & publish: {proposal.title}",
            "subtitle": proposal.title,
            "form": form,
            "media": self.media + form.media,
            "has_view_permission": True,
            "change_url": self._url("change", proposal),
            "unexplored": proposal.unexplored_count,
        }
        return TemplateResponse(request, "admin/flywheel_app/flowproposal/publish.html", context)
