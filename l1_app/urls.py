from django.urls import path

from l1_app.views import categories, escalations, walks

app_name = "l1_app"

urlpatterns = [
    path("", walks.home, name="home"),
    path("start/", walks.walk_start, name="start"),
    path("walks/<int:walk_id>/", walks.walk_detail, name="detail"),
    path("walks/<int:walk_id>/steps/<str:node_id>/", walks.walk_answer, name="answer"),
    path("walks/<int:walk_id>/next/", walks.walk_next, name="next"),
    path("walks/<int:walk_id>/notes/", walks.walk_notes, name="notes"),
    path("walks/<int:walk_id>/ad-hoc/", walks.walk_ad_hoc, name="ad_hoc"),
    path("walks/<int:walk_id>/flow/", walks.walk_use_flow, name="use_flow"),
    path("walks/<int:walk_id>/resolve/", walks.walk_resolve, name="resolve"),
    path("walks/<int:walk_id>/escalate/", walks.walk_escalate, name="escalate"),
    path("walks/<int:walk_id>/push/retry/", walks.walk_push_retry, name="push_retry"),
    path("categories/", categories.category_list, name="categories"),
    path("categories/add/", categories.category_add, name="category_add"),
    path("categories/<int:category_id>/", categories.category_row, name="category"),
    path("categories/<int:category_id>/edit/", categories.category_edit, name="category_edit"),
    path("categories/<int:category_id>/allowed/", categories.category_allowed, name="category_allowed"),
    path("categories/<int:category_id>/delete/", categories.category_delete, name="category_delete"),
    path("escalations/", escalations.escalation_list, name="escalations"),
    path("escalations/<int:walk_id>/", escalations.escalation_detail, name="escalation_detail"),
    path("escalations/<int:walk_id>/session/", escalations.escalation_start_session, name="escalation_session"),
]
