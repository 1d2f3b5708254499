from django import template

from flywheel_app.analytics import charts

register = template.Library()


@register.simple_tag
def chart_svg(chart, section):
    return charts.svg(chart, id_prefix=f"chart-{section.key}-{chart.key}")


@register.simple_tag
def chart_legend(chart):
    return charts.colours(chart)


@register.simple_tag
def chart_cells(chart):
    return charts.cells(chart)
