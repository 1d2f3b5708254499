from django.contrib import admin
from django.urls import include, path

from .health import healthz

admin.site.site_header = "ResolutionFlow admin"
admin.site.site_title = "ResolutionFlow"
admin.site.index_title = "Review queue, flows and account"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("tickets/", include("resolutionflow.psa.urls")),
    path("sessions/", include("sessions_app.urls")),
    path("sessions/", include("facts_app.urls")),
    path("l1/", include("l1_app.urls")),
    path("manage/gaps/", include("flywheel_app.urls_gaps")),
    path("manage/analytics/", include("flywheel_app.urls")),
    path("manage/connectwise/", include("resolutionflow.psa.urls_manage")),
    path("", include("resolutionflow.accounts.urls")),
]

handler400 = "resolutionflow.error_views.bad_request"
handler403 = "resolutionflow.error_views.permission_denied"
handler404 = "resolutionflow.error_views.page_not_found"
handler500 = "resolutionflow.error_views.server_error"
