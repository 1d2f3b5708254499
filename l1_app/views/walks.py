"""(in progress: the L1 walk pages)"""

from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("In progress", status=501)


home = walk_start = walk_detail = walk_answer = walk_next = walk_notes = walk_ad_hoc = _todo
walk_resolve = walk_escalate = _todo
