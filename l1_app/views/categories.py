"""(in progress: the allowlist editor)"""

from django.http import HttpResponse


def category_list(request):
    return HttpResponse("In progress", status=501)
