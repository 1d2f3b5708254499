"""The analytics page (SPEC §8, Analytics): owners and admins, their own account's data only."""

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from flywheel_app.analytics.base import PERIODS, clean_days
from flywheel_app.analytics.page import analytics_chart, analytics_sections
from resolutionflow.accounts.tenancy import admin_required


@admin_required
@require_GET
def analytics(request):
    days = clean_days(request.GET.get("days"))
    sections = analytics_sections(account_id=request.user.account_id, days=days)
    return render(request, "flywheel_app/analytics.html", {"days": days, "periods": PERIODS, "sections": sections})


def _csv_cell(value):
    # A spreadsheet runs a cell that starts with one of these as a formula; error texts come from outside.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@admin_required
@require_GET
def analytics_csv(request, section: str, chart: str):
    days = clean_days(request.GET.get("days"))
    found = analytics_chart(account_id=request.user.account_id, days=days, section_key=section, chart_key=chart)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{section}-{chart}-{days}d.csv"'
    writer = csv.writer(response)
    writer.writerow(found.columns)
    writer.writerows([_csv_cell(v) for v in row] for row in found.rows)
    return response
