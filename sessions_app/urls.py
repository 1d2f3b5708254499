from django.urls import path

from . import fix_views, handoff_views, views

app_name = "sessions_app"

urlpatterns = [
    path("", views.session_list, name="list"),
    path("new/", views.session_new, name="new"),
    path("escalations/", handoff_views.escalation_queue, name="escalation_queue"),
    path("<int:session_id>/", views.session_detail, name="detail"),
    path("<int:session_id>/escalate/", handoff_views.session_escalate, name="escalate"),
    path("<int:session_id>/handoff/", handoff_views.handoff_screen, name="handoff"),
    path("<int:session_id>/handoff/assessment/", handoff_views.handoff_assessment, name="handoff_assessment"),
    path("<int:session_id>/claim/", handoff_views.session_claim, name="claim"),
    path("<int:session_id>/pushes/<int:push_id>/retry/", handoff_views.push_retry, name="push_retry"),
    path("<int:session_id>/steps/<int:step_id>/answer/", views.session_answer, name="answer"),
    path("<int:session_id>/turn/", views.session_turn, name="turn"),
    path("<int:session_id>/lane/<int:item_id>/answer/", views.lane_answer, name="lane_answer"),
    path("<int:session_id>/pause/", views.session_pause, name="pause"),
    path("<int:session_id>/resume/", views.session_resume, name="resume"),
    path("<int:session_id>/reopen/", views.session_reopen, name="reopen"),
    path("<int:session_id>/resolve/", views.session_resolve, name="resolve"),
    path("<int:session_id>/rate/", views.session_rate, name="rate"),
    path("<int:session_id>/link-ticket/", views.session_link_ticket, name="link_ticket"),
    path("<int:session_id>/screenshot/", views.session_screenshot, name="screenshot"),
    path("<int:session_id>/documentation.md", views.session_documentation, name="documentation"),
    path("<int:session_id>/fix/<int:fix_id>/decide/", fix_views.fix_decide, name="fix_decide"),
    path("<int:session_id>/fix/<int:fix_id>/outcome/", fix_views.fix_outcome, name="fix_outcome"),
    path("<int:session_id>/fix/<int:fix_id>/applied/", fix_views.fix_applied, name="fix_applied"),
    path("<int:session_id>/fix/<int:fix_id>/ai-outcome/", fix_views.fix_ai_outcome, name="fix_ai_outcome"),
    path("<int:session_id>/fix/<int:fix_id>/script/", fix_views.fix_script, name="fix_script"),
    path("<int:session_id>/fix/<int:fix_id>/script/draft/", fix_views.fix_script_draft, name="fix_script_draft"),
    path("<int:session_id>/scripts/generate/", fix_views.script_generate, name="script_generate"),
    path("<int:session_id>/scripts/<int:generation_id>/ran/", fix_views.script_ran, name="script_ran"),
    path("<int:session_id>/drafts/", fix_views.drafts, name="drafts"),
]
