from django.urls import path

from . import views_connection as views

urlpatterns = [
    path("", views.psa_connection, name="psa_connection"),
    path("test/", views.psa_connection_test, name="psa_connection_test"),
    path("statuses/", views.psa_statuses, name="psa_statuses"),
    path("disconnect/", views.psa_connection_delete, name="psa_connection_delete"),
    path("members/", views.psa_members, name="psa_members"),
    path("members/match/", views.psa_members_match, name="psa_members_match"),
]
