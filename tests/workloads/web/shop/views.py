"""The Django site's views: a function view behind a decorator, a plain
one, and a class-based one (View.dispatch in between)."""
from django.http import HttpResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt

import webwork


@csrf_exempt
def cpu(request):
    return HttpResponse(webwork.cpu())


def sleepy(request):
    return HttpResponse(webwork.sleep())


def query(request):
    """~30 ms in one SQL statement (the server sleeps)."""
    from django.db import connection

    def run():
        with connection.cursor() as c:
            c.execute("SELECT pg_sleep(%s)", [webwork.SQL_MS / 1000])  # QUERY LINE

    return HttpResponse(webwork.timed(run))


class Mixed(View):
    def get(self, request, order=None):  # also /mixed/<order>/: a route with an id
        return HttpResponse(webwork.mixed())
