"""The knowledge gaps' actions, apart from the analytics page's own urls (mounted at manage/gaps/)."""

from django.urls import path

from . import views_gaps

app_name = "flywheel_gaps"

urlpatterns = [
    path("draft/", views_gaps.gap_draft_flow, name="draft_flow"),
]
