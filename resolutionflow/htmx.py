"""How every app answers a request that changes a region of a page (ARCHITECTURE.md, "Request
flow"): a plain request gets a redirect back to the page (or the full page, for a read), an HTMX
request gets the region's partial alone. Either way the response says it varies on HX-Request.

Domain errors a view does not handle itself are raised, never caught here: the middleware
(`resolutionflow.middleware.DomainErrorMiddleware`) turns them into the shared error partial.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString, mark_safe
from django_htmx.http import trigger_client_event

Context = Mapping[str, Any] | Callable[[], Mapping[str, Any]]

# Fired after the swap has settled, so regions swapped in by the same response hear it too.
STATE_CHANGED = "state-changed"


def region_response(
    request: HttpRequest,
    template: str,
    context: Context,
    *,
    redirect_to: str | None = None,
    page: str | None = None,
    error: str = "",
    notice: str = "",
    trigger: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Answer with `template` (the region partial) for HTMX, else redirect to `redirect_to` (after
    a POST: `error` and `notice` travel as messages) or render `page` (a read).

    `context` may be a callable, so a plain request that is redirected never builds it.
    `trigger` is sent as an HX-Trigger event after settle, unless the request failed (`error`)."""
    if request.htmx:
        values = context() if callable(context) else context
        shown = {key: text for key, text in (("error", error), ("notice", notice)) if text}
        response = render(request, template, {**values, **shown}, status=status)
        if trigger and not error:
            trigger_client_event(response, trigger, after="settle")
    elif page is not None:
        values = context() if callable(context) else context
        response = render(request, page, values, status=status)
    else:
        if redirect_to is None:
            raise ValueError("A region answered to a plain request needs redirect_to or page.")
        if error:
            messages.error(request, error)
        elif notice:
            messages.info(request, notice)
        response = redirect(redirect_to)
    patch_vary_headers(response, ("HX-Request",))
    return response


def form_error_message(form: Form) -> str:
    """Every error of a bound form as one sentence-per-error message (field errors first)."""
    errors = [error for field, field_errors in form.errors.items() if field != "__all__" for error in field_errors]
    errors += list(form.non_field_errors())
    return " ".join(errors)


def nothing_changed() -> HttpResponse:
    """The answer to a poll that found nothing new: no body, and htmx swaps nothing (204)."""
    response = HttpResponse(status=204)
    response["HX-Reswap"] = "none"
    patch_vary_headers(response, ("HX-Request",))
    return response


def drawn(html: str) -> SafeString:
    """HTML our own templates drew earlier (kept in the cache to be served again): already escaped
    where it had to be, so it is shown as it is."""
    return mark_safe(html)  # noqa: S308  (only ever the output of render_to_string)
