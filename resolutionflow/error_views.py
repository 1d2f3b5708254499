"""What people see when a request fails outside the domain errors the middleware answers: a page in
the product's layout that says what happened and offers a way back, or, for an HTMX request, the
small error partial. The status stays the real one (another account's object is a 404, whoever
asks); htmx swaps no error response, so static/js/app.js shows the partial's message as a toast."""

from django.http import HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils.cache import patch_vary_headers

MESSAGES = {
    400: "The request could not be understood. Go back and try again.",
    403: "Your role does not give access to this page.",
    404: "There is nothing here, or it is not yours to see.",
}


def _answer(request, status: int, message: str) -> HttpResponse:
    if getattr(request, "htmx", False):
        context = {"message": message, "retryable": False, "status": status}
        response = render(request, "partials/_error.html", context, status=status)
        response["HX-Error-Status"] = str(status)
    else:
        response = render(request, f"{status}.html", {"message": message}, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def bad_request(request, exception=None):
    return _answer(request, 400, MESSAGES[400])


def permission_denied(request, exception=None):
    return _answer(request, 403, str(exception) if exception and str(exception) else MESSAGES[403])


def page_not_found(request, exception=None):
    return _answer(request, 404, MESSAGES[404])


def server_error(request):
    """Drawn without the database or the request's user (either may be what failed)."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(
            '<div class="alert alert-error" role="alert" data-error-status="500"><p>Something went wrong on our '
            "side. What you entered was saved where it could be; try again in a moment.</p></div>",
            status=500,
        )
        response["HX-Error-Status"] = "500"
        return response
    return HttpResponseServerError(loader.get_template("500.html").render())
