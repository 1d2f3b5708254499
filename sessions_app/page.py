"""The session page, shared by the views that answer with it (the page itself, and the forms whose
errors come back on it). Its body is cached while nothing it shows has changed."""

from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string

from resolutionflow.htmx import drawn
from sessions_app import selectors
from sessions_app.models import AISession

# A cached body outlives no minute (its key has the minute in it); this only bounds memory.
PAGE_CACHE_SECONDS = 120


def session_page(request, session: AISession, *, status: int = 200, **overrides) -> HttpResponse:
    """The session page. Its body comes from the cache while nothing it shows has changed (see
    `selectors.session_page_cache_keys`); a page answering a form's errors is always drawn anew."""
    if overrides:
        body = _draw_body(request, session, **overrides)
    else:
        get_token(request)  # the body's forms carry the CSRF token: make sure this request has its secret
        key, epoch_key = selectors.session_page_cache_keys(
            session=session, viewer=request.user, csrf_secret=request.META.get("CSRF_COOKIE", "")
        )
        found = cache.get_many([key, epoch_key])
        epoch, cached = found.get(epoch_key, 0), found.get(key)
        if cached is not None and cached[0] == epoch:
            body = cached[1]
        else:
            if session.get_deferred_fields():  # only its row (see `selectors.session_row_for_user`)
                session = selectors.session_get_for_user(user=request.user, session_id=session.pk)
            body = _draw_body(request, session)
            cache.set(key, (epoch, body), timeout=PAGE_CACHE_SECONDS)
    return render(request, "sessions_app/session_detail.html", {"session": session, "body": body}, status=status)


def _draw_body(request, session: AISession, **overrides) -> str:
    context = selectors.session_page_context(session=session, **overrides)
    return drawn(render_to_string("sessions_app/partials/_session_page.html", context, request=request))
