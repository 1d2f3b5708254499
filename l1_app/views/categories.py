"""The account's L1 category allowlist editor (SPEC §7 "Safety"; issue #13 §2), for owners and
admins. Each category is its own region: the Allowed switch, Edit and Delete answer that row for
htmx and redirect back to its place in the list for a plain form post. Adding answers the new row,
appended to the list, with the add form emptied out of band; a refused add answers the form alone.
A form sent wrong comes back with its message and what was typed; nothing is changed.

(The new row is appended by retargeting the response, not by an out-of-band "beforeend": with the
morph extension on <body>, idiomorph-ext treats every oob swap style as outerHTML-like and would
append the wrapper element too.)"""

from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from l1_app.forms import L1CategoryAllowedForm, L1CategoryForm, keywords_as_text
from l1_app.models import L1Category
from l1_app.selectors import l1_category_editor, l1_category_get
from l1_app.services import categories as services
from resolutionflow.accounts.tenancy import admin_required
from resolutionflow.errors import InvalidInput, NotFound
from resolutionflow.htmx import form_error_message, region_response

PAGE = "l1_app/categories.html"
ROW = "l1_app/partials/_category_row.html"
ADD = "l1_app/partials/_category_add.html"
ADDED = "l1_app/partials/_category_added.html"
ADD_IDS = "l1cat-new-%s"  # the add form's field ids, apart from each row's edit form ("l1cat-<pk>-%s")


def _list_url(category: L1Category | None = None, *, editing: bool = False) -> str:
    url = reverse("l1_app:categories")
    if category is None:
        return url
    return f"{url}{f'?editing={category.pk}' if editing else ''}#l1_app-category-{category.pk}"


def _category(request, category_id: int) -> L1Category:
    return l1_category_get(account_id=request.user.account_id, category_id=category_id)


def _add_form(data=None) -> L1CategoryForm:
    return L1CategoryForm(data, auto_id=ADD_IDS)


def _edit_form(category: L1Category, data=None) -> L1CategoryForm:
    initial = {
        "label": category.label,
        "description": category.description,
        "keywords": keywords_as_text(category.keywords),
    }
    form = L1CategoryForm(data, initial=initial, auto_id=f"l1cat-{category.pk}-%s")
    if data is None:  # just opened: the cursor goes to the label (htmx focuses [autofocus] as it swaps)
        form.fields["label"].widget.attrs["autofocus"] = True
    return form


def _refused(form: L1CategoryForm, exc: InvalidInput) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _page(request, *, status: int = 200, add_form=None, editing: L1Category | None = None, edit_form=None):
    """The whole editor (a read, or a plain form post sent back with its errors)."""
    l1_categories = l1_category_editor(account_id=request.user.account_id)
    context = {**l1_categories, "add_form": add_form or _add_form(), "editing": editing, "edit_form": edit_form}
    response = render(request, PAGE, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@admin_required
@require_GET
def category_list(request):
    """The editor. `?editing=<id>` opens that row's edit form (the Edit link without JavaScript)."""
    services.l1_categories_ensure(account=request.user.account)
    editing = None
    wanted = request.GET.get("editing", "")
    if wanted.isdigit():
        try:
            editing = _category(request, int(wanted))
        except NotFound:
            editing = None  # deleted meanwhile, or not this account's: the list as it is
    return _page(request, editing=editing, edit_form=_edit_form(editing) if editing else None)


@admin_required
@require_POST
def category_add(request):
    form = _add_form(request.POST)
    if form.is_valid():
        try:
            category = services.l1_category_create(
                account=request.user.account, actor=request.user, **form.cleaned_data
            )
        except InvalidInput as exc:
            _refused(form, exc)
        else:
            response = region_response(
                request,
                ADDED,
                {"add_form": _add_form(), "added": category},
                redirect_to=_list_url(category),
                notice=f"Added “{category.label}”, allowed. Switch it off in its row if L1 should not walk it yet.",
            )
            if request.htmx:  # only what changed: the new row at the end of the list
                response["HX-Retarget"] = "#l1_app-category-list"
                response["HX-Reswap"] = "beforeend"
            return response
    form.focus_first_error()
    if not request.htmx:
        return _page(request, status=400, add_form=form)
    return region_response(request, ADD, {"add_form": form})


@admin_required
@require_GET
def category_row(request, category_id: int):
    """One row as shown (Cancel of an edit)."""
    category = _category(request, category_id)
    return region_response(request, ROW, {"category": category, "focus": "edit"}, redirect_to=_list_url(category))


@admin_required
@require_http_methods(["GET", "POST"])
def category_edit(request, category_id: int):
    """GET: the row's edit form. POST: save label, description and keywords (the key stays)."""
    category = _category(request, category_id)
    if request.method == "GET":
        return region_response(
            request, ROW, lambda: {"category": category, "form": _edit_form(category)},
            redirect_to=_list_url(category, editing=True),
        )  # fmt: skip
    form = _edit_form(category, request.POST)
    if form.is_valid():
        try:
            category = services.l1_category_update(category=category, actor=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            _refused(form, exc)
        else:
            return region_response(
                request, ROW, {"category": category, "focus": "edit"},
                redirect_to=_list_url(category), notice=f'Saved “{category.label}”.',
            )  # fmt: skip
    form.focus_first_error()
    if not request.htmx:
        return _page(request, status=400, editing=category, edit_form=form)
    return region_response(request, ROW, {"category": category, "form": form})


@admin_required
@require_POST
def category_allowed(request, category_id: int):
    """The Allowed switch: sets the state it sends."""
    category = _category(request, category_id)
    form = L1CategoryAllowedForm(request.POST)
    error = "" if form.is_valid() else form_error_message(form)
    if not error:
        category = services.l1_category_set_allowed(
            category=category, actor=request.user, allowed=form.cleaned_data["allowed"]
        )
    return region_response(request, ROW, {"category": category}, redirect_to=_list_url(category), error=error)


@admin_required
@require_POST
def category_delete(request, category_id: int):
    """Delete a category the account added (a default is refused: switch it off instead)."""
    category = _category(request, category_id)
    try:
        services.l1_category_delete(category=category, actor=request.user)
    except InvalidInput as exc:
        return region_response(request, ROW, {"category": category}, redirect_to=_list_url(category), error=exc.message)
    return region_response(
        request, ROW, {"category": category, "deleted": True},
        redirect_to=_list_url(), notice=f'Deleted “{category.label}”.',
    )  # fmt: skip
