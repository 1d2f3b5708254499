"""One place that turns domain and AI errors into responses.

HTMX requests get a small error partial (status 200 so htmx swaps it; the real status is
in `HX-Error-Status`) with a retry button where retrying can help; plain requests get a
full error page with the real status code. Never a 500 page inside a fragment.
"""

import logging

from django.http import Http404
from django.shortcuts import render

from .ai.errors import AIError
from .errors import DomainError, NotFound

logger = logging.getLogger(__name__)

# Form fields that are never echoed back into a retry form.
_NEVER_ECHO = {
    "csrfmiddlewaretoken",
    "password",
    "password1",
    "password2",
    "old_password",
    "new_password1",
    "new_password2",
}


class DomainErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            raise Http404(exception.message)
        if isinstance(exception, AIError):
            logger.warning("AI call failed on %s: %s", request.path, exception.kind)
            return self._render(request, status=503, message=exception.message, retryable=exception.retryable)
        if isinstance(exception, DomainError):
            return self._render(request, status=exception.status_code, message=exception.message, retryable=False)
        return None

    def _render(self, request, *, status: int, message: str, retryable: bool):
        context = {
            "message": message,
            "retryable": retryable,
            "retry_url": request.get_full_path(),
            "retry_method": request.method.lower(),
            "retry_fields": [(k, v) for k, values in request.POST.lists() if k not in _NEVER_ECHO for v in values],
            "status": status,
        }
        if request.htmx:
            response = render(request, "partials/_error.html", context, status=200)
            response["HX-Error-Status"] = str(status)
            response["Vary"] = "HX-Request"
            return response
        return render(request, "error.html", context, status=status)
