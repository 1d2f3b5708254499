from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from resolutionflow.accounts.models import User
from resolutionflow.errors import PermissionDenied

from . import selectors, services
from .forms import InternalTicketForm
from .models import InternalTicket


def _can_use_tickets(user: User) -> bool:
    return user.can_use_sessions or user.can_use_l1


def _gate(request):
    if not _can_use_tickets(request.user):
        raise PermissionDenied("Your role does not give access to tickets.")


@login_required
def ticket_list(request):
    _gate(request)
    status = request.GET.get("status", "")
    if status not in InternalTicket.Status.values:
        status = ""
    page = Paginator(selectors.internal_ticket_list(user=request.user, status=status), 25).get_page(
        request.GET.get("page")
    )
    return render(
        request, "psa/ticket_list.html", {"page": page, "status": status, "statuses": InternalTicket.Status.choices}
    )


@login_required
def ticket_create(request):
    _gate(request)
    form = InternalTicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ticket = services.internal_ticket_create(account=request.user.account, actor=request.user, **form.cleaned_data)
        return redirect("ticket_detail", number=ticket.number)
    return render(request, "psa/ticket_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def ticket_detail(request, number: int):
    _gate(request)
    ticket = selectors.internal_ticket_get(user=request.user, number=number)
    return render(request, "psa/ticket_detail.html", {"ticket": ticket})
