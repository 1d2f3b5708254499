from django.urls import path

from flywheel_app import views

app_name = "flywheel_app"

urlpatterns = [
    path("", views.analytics, name="analytics"),
    path("<slug:section>/<slug:chart>.csv", views.analytics_csv, name="analytics_csv"),
]
