"""The project's URLs plus /bench/bare/: a Django view that runs one query and renders nothing,
the yardstick the bench compares the real pages with."""

from django.http import HttpResponse
from django.urls import include, path

from resolutionflow.accounts.models import Account


def bare(request):
    return HttpResponse(str(Account.objects.filter(pk=1).exists()), content_type="text/plain")


urlpatterns = [
    path("bench/bare/", bare),
    path("", include("resolutionflow.urls")),
]
