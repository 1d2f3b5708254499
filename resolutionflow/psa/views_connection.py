"""The ConnectWise connection and member mapping pages (issue #15 §1, §5), for owners and admins.
Saving stores first and then calls ConnectWise (a failed test never loses what was typed in);
the private key is never rendered back, only whether one is set."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from resolutionflow.accounts.models import User
from resolutionflow.accounts.tenancy import admin_required, get_for_account
from resolutionflow.errors import DomainError, InvalidInput, NotFound

from . import selectors, services
from .forms import PSAConnectionForm, PSAMemberAssignForm, PSAStatusesForm

PAGE = "psa/connection.html"
MEMBERS = "psa/members.html"


def _connection(request):
    """The account's connection; 404 when it has none."""
    connection = selectors.psa_connection_for(account_id=request.user.account_id)
    if connection is None:
        raise NotFound()
    return connection


def _board_id(request, connection) -> int | None:
    wanted = request.GET.get("board") or request.POST.get("board") or ""
    return int(wanted) if wanted.isdigit() else connection.board_id


def _page(request, *, form=None, statuses_form=None, status: int = 200):
    connection = selectors.psa_connection_for(account_id=request.user.account_id)
    if form is None:
        initial = (
            {"site": connection.site, "company_id": connection.company_id, "public_key": connection.public_key}
            if connection
            else {}
        )
        form = PSAConnectionForm(initial=initial, key_set=connection is not None)
    boards_error = ""
    if connection is not None and connection.last_test_ok and statuses_form is None:
        board_id = _board_id(request, connection)
        boards, statuses, boards_error = selectors.psa_board_choices(connection=connection, board_id=board_id)
        statuses_form = PSAStatusesForm(
            initial={"board": board_id, "resolved_status": connection.resolved_status_id,
                     "escalated_status": connection.escalated_status_id},
            boards=boards, statuses=statuses,
        )  # fmt: skip
    context = {"connection": connection, "form": form, "statuses_form": statuses_form, "boards_error": boards_error}
    return render(request, PAGE, context, status=status)


@sensitive_post_parameters("private_key")
@admin_required
@require_http_methods(["GET", "POST"])
def psa_connection(request):
    """The connection form: a save stores the connection, then tests it."""
    if request.method != "POST":
        return _page(request)
    connection = selectors.psa_connection_for(account_id=request.user.account_id)
    form = PSAConnectionForm(request.POST, key_set=connection is not None)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    try:
        connection = services.psa_connection_save(account=request.user.account, actor=request.user, **form.cleaned_data)
    except InvalidInput as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _page(request, form=form, status=400)
    ok, message = services.psa_connection_test(connection=connection, actor=request.user)
    if ok:  # people are matched to members by e-mail as soon as ConnectWise answers
        try:
            matched, missing = services.psa_members_match_all(account=request.user.account, actor=request.user)
            message += f" Members matched by e-mail: {matched}; without a member: {missing}."
        except DomainError as exc:
            message += f" Members could not be matched: {exc.message}"
    (messages.success if ok else messages.error)(request, f"Saved. {message}")
    return redirect("psa_connection")


@admin_required
@require_POST
def psa_connection_test(request):
    connection = _connection(request)
    ok, message = services.psa_connection_test(connection=connection, actor=request.user)
    (messages.success if ok else messages.error)(request, message)
    return redirect("psa_connection")


@admin_required
@require_POST
def psa_statuses(request):
    connection = _connection(request)
    board_id = _board_id(request, connection)
    boards, statuses, failed = selectors.psa_board_choices(connection=connection, board_id=board_id)
    form = PSAStatusesForm(request.POST, boards=boards, statuses=statuses)
    if failed:
        messages.error(request, f"Nothing was changed: {failed}")
        return redirect("psa_connection")
    if not form.is_valid():
        return _page(request, statuses_form=form, status=400)
    services.psa_statuses_set(
        connection=connection, actor=request.user, board=form.chosen("board", boards),
        resolved=form.chosen("resolved_status", statuses), escalated=form.chosen("escalated_status", statuses),
    )  # fmt: skip
    messages.success(request, "Statuses saved.")
    return redirect("psa_connection")


@admin_required
@require_POST
def psa_connection_delete(request):
    connection = _connection(request)
    services.psa_connection_delete(connection=connection, actor=request.user)
    messages.success(request, "ConnectWise disconnected: sessions use internal tickets again.")
    return redirect("psa_connection")


def _members_page(request, *, status: int = 200, error_for: int | None = None, error: str = ""):
    connection = selectors.psa_connection_for(account_id=request.user.account_id)
    members, failed = selectors.psa_member_choices(connection=connection) if connection else ([], "")
    rows = [
        (user, mapping, PSAMemberAssignForm(
            initial={"user": user.pk, "member": mapping.member_id if mapping else None},
            members=members, auto_id=f"member-{user.pk}-%s",
        ))
        for user, mapping in selectors.psa_member_rows(account_id=request.user.account_id)
    ]  # fmt: skip
    context = {"connection": connection, "rows": rows, "members_error": failed, "error_for": error_for,
               "error": error}  # fmt: skip
    return render(request, MEMBERS, context, status=status)


@admin_required
@require_http_methods(["GET", "POST"])
def psa_members(request):
    """Every active user with their ConnectWise member; a POST assigns one by hand."""
    if request.method != "POST":
        return _members_page(request)
    connection = _connection(request)
    members, failed = selectors.psa_member_choices(connection=connection)
    if failed:
        messages.error(request, f"Nothing was changed: {failed}")
        return redirect("psa_members")
    form = PSAMemberAssignForm(request.POST, members=members)
    if not form.is_valid():
        return _members_page(request, status=400, error="Pick a member from the list.")
    user = get_for_account(User.objects.usable(), account=request.user.account_id, pk=form.cleaned_data["user"])
    row = services.psa_member_assign(user=user, member=form.chosen_member(), actor=request.user)
    messages.success(
        request,
        f"{user} is ConnectWise member {row.member_name} ({row.member_identifier})."
        if row.member_id
        else f"{user} has no ConnectWise member.",
    )
    return redirect("psa_members")


@admin_required
@require_POST
def psa_members_match(request):
    try:
        matched, missing = services.psa_members_match_all(account=request.user.account, actor=request.user)
    except DomainError as exc:
        messages.error(request, f"Matching stopped: {exc.message}")
    else:
        messages.success(request, f"Matched by e-mail: {matched}; no member found: {missing}.")
    return redirect("psa_members")
