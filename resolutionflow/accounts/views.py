from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from flywheel_app.selectors import proposal_review_summary
from resolutionflow.htmx import region_response
from sessions_app.selectors import escalation_queue, session_list_for_user

from . import selectors, services
from .models import Role
from .tenancy import admin_required, engineer_required


@login_required
def home(request):
    """Send each role to its own home."""
    user = request.user
    if user.role in (Role.OWNER, Role.ADMIN):
        return redirect("admin_home")
    if user.role == Role.L1_TECH:
        return redirect("l1_app:home")
    return redirect("engineer_home")


@engineer_required
def engineer_home(request):
    open_sessions = session_list_for_user(user=request.user).filter(status__in=["active", "paused"])[:8]
    waiting = escalation_queue(user=request.user, limit=5)
    return render(
        request, "accounts/engineer_home.html", {"open_sessions": open_sessions, "escalations": waiting.shown,
                                                 "escalation_count": waiting.total}
    )  # fmt: skip


@admin_required
def admin_home(request):
    return render(request, "accounts/admin_home.html", {"queue": proposal_review_summary(account=request.user.account)})


@login_required
@require_GET
def notification_bell(request):
    """The bell region (polled); without HTMX it is the notifications page."""
    context = {"unread_count": selectors.notification_unread_count(user=request.user)}
    return region_response(
        request, "partials/_notification_bell.html", context, redirect_to=reverse("notification_list")
    )


def _notification_page(request):
    notifications = selectors.notification_list(user=request.user)[:100]
    return render(request, "accounts/notifications.html", {"notifications": notifications})


@login_required
@require_GET
def notification_list(request):
    return _notification_page(request)


@login_required
@require_POST
def notification_mark_read(request, notification_id: int):
    notification = selectors.notification_get_for_user(user=request.user, notification_id=notification_id)
    services.notification_mark_read(notification=notification)
    return region_response(
        request, "accounts/partials/_notification_item.html", {"n": notification},
        redirect_to=notification.url or reverse("notification_list"), trigger="notifications-changed",
    )  # fmt: skip


@login_required
@require_POST
def notification_mark_all_read(request):
    services.notification_mark_all_read(user=request.user)
    context = {"notifications": selectors.notification_list(user=request.user)[:100]}
    return region_response(
        request, "accounts/notifications.html", context, redirect_to=reverse("notification_list"),
        trigger="notifications-changed",
    )  # fmt: skip
