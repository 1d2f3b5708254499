from django.urls import path

from sessions_app.views import escalations, fixes, scripts, sessions

app_name = "sessions_app"

urlpatterns = [
    path("", sessions.session_list, name="list"),
    path("new/", sessions.session_new, name="new"),
    path("escalations/", escalations.escalation_queue, name="escalation_queue"),
    path("<int:session_id>/", sessions.session_detail, name="detail"),
    path("<int:session_id>/escalate/", escalations.session_escalate, name="escalate"),
    path("<int:session_id>/handoff/", escalations.handoff_screen, name="handoff"),
    path("<int:session_id>/handoff/assessment/", escalations.handoff_assessment, name="handoff_assessment"),
    path("<int:session_id>/claim/", escalations.session_claim, name="claim"),
    path("<int:session_id>/pushes/<int:push_id>/retry/", escalations.push_retry, name="push_retry"),
    path("<int:session_id>/steps/<int:step_id>/answer/", sessions.session_answer, name="answer"),
    path("<int:session_id>/turn/", sessions.session_turn, name="turn"),
    path("<int:session_id>/lane/<int:item_id>/answer/", sessions.lane_answer, name="lane_answer"),
    path("<int:session_id>/pause/", sessions.session_pause, name="pause"),
    path("<int:session_id>/resume/", sessions.session_resume, name="resume"),
    path("<int:session_id>/reopen/", sessions.session_reopen, name="reopen"),
    path("<int:session_id>/resolve/", sessions.session_resolve, name="resolve"),
    path("<int:session_id>/rate/", sessions.session_rate, name="rate"),
    path("<int:session_id>/link-ticket/", sessions.session_link_ticket, name="link_ticket"),
    path("<int:session_id>/similar/dismiss/", sessions.similar_dismiss, name="similar_dismiss"),
    path("<int:session_id>/screenshot/", sessions.session_screenshot, name="screenshot"),
    path("<int:session_id>/documentation.md", sessions.session_documentation, name="documentation"),
    path("<int:session_id>/fix/<int:fix_id>/decide/", fixes.fix_decide, name="fix_decide"),
    path("<int:session_id>/fix/<int:fix_id>/outcome/", fixes.fix_outcome, name="fix_outcome"),
    path("<int:session_id>/fix/<int:fix_id>/applied/", fixes.fix_applied, name="fix_applied"),
    path("<int:session_id>/fix/<int:fix_id>/ai-outcome/", fixes.fix_ai_outcome, name="fix_ai_outcome"),
    path("<int:session_id>/fix/<int:fix_id>/run/", scripts.fix_run, name="fix_run"),
    path("<int:session_id>/fix/<int:fix_id>/template/", scripts.fix_template, name="fix_template"),
    path("<int:session_id>/fix/<int:fix_id>/script/", scripts.fix_script, name="fix_script"),
    path("<int:session_id>/fix/<int:fix_id>/script/draft/", scripts.fix_script_draft, name="fix_script_draft"),
    path("<int:session_id>/scripts/generate/", scripts.script_generate, name="script_generate"),
    path("<int:session_id>/scripts/<int:generation_id>/ran/", scripts.script_ran, name="script_ran"),
    path("<int:session_id>/drafts/", scripts.drafts, name="drafts"),
]
