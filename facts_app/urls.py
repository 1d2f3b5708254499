from django.urls import path, re_path

from . import views

app_name = "facts_app"

urlpatterns = [
    path("<int:session_id>/facts/", views.panel, name="panel"),
    path("<int:session_id>/facts/add/", views.add_note, name="add"),
    path("<int:session_id>/facts/<int:fact_id>/edit/", views.edit, name="edit"),
    path("<int:session_id>/facts/<int:fact_id>/delete/", views.delete, name="delete"),
    path("<int:session_id>/facts/promote/<int:item_id>/", views.promote, name="promote"),
    re_path(
        r"^(?P<session_id>[0-9]+)/feedback/(?P<kind>turn|fix|fact|resolution_note|escalation_package)/(?P<object_id>[0-9]+)/$",
        views.vote,
        name="vote",
    ),
    path("<int:session_id>/handoff/assessment/retry/", views.assessment_retry, name="assessment_retry"),
    re_path(
        r"^(?P<session_id>[0-9]+)/preview/(?P<kind>resolution_note|escalation_package)/$", views.preview, name="preview"
    ),
]
