"""Tenant-scoped lookups and role gates: the only way views reach tenant data.

`get_for_account` answers a missing object and another account's object the same way
(NotFound → 404), so nothing reveals that a foreign id exists.
"""

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.contrib.auth.decorators import login_required
from django.db import models

from resolutionflow.errors import NotFound, PermissionDenied

from .models import Account, User

M = TypeVar("M", bound=models.Model)


def get_for_account(queryset: type[M] | models.QuerySet[M], *, account: Account | int, **lookup) -> M:
    """Return the one object matching `lookup` inside `account`, or raise NotFound."""
    qs = queryset._default_manager.all() if isinstance(queryset, type) else queryset
    account_id = account if isinstance(account, int) else account.pk
    try:
        return qs.get(account_id=account_id, **lookup)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def _gate(check: Callable[[User], bool], area: str):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied(f"Your role does not give access to {area}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


engineer_required = _gate(lambda u: u.can_use_sessions, "engineer sessions")
"""Owners, admins and engineers."""

l1_required = _gate(lambda u: u.can_use_l1, "the L1 walk page")
"""L1 techs, and engineers with the L1 coverage flag."""

admin_required = _gate(lambda u: u.can_admin, "the admin area")
"""Owners and admins."""
