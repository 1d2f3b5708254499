from django.urls import path

from . import views

app_name = "sessions_app"

urlpatterns = [
    path("", views.session_list, name="list"),
    path("new/", views.session_new, name="new"),
    path("<int:session_id>/", views.session_detail, name="detail"),
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
]
