"""(in progress: the engineers' list of L1 escalations)"""

from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("In progress", status=501)


escalation_list = escalation_detail = escalation_start_session = _todo
