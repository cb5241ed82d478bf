"""CoachHub's URLs plus `/bench/bare`: the cheapest possible Django response on the same server."""

from django.http import HttpResponse
from django.urls import path

from coachhub.urls import urlpatterns as coachhub_urlpatterns


async def bare(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/bare", bare), *coachhub_urlpatterns]
