"""CoachHub's URLs plus `/bench/bare`: the cheapest possible Django response on the same server."""

from django.http import HttpResponse
from django.urls import path

from coachhub.core.timing import elapsed_ms
from coachhub.urls import urlpatterns as coachhub_urlpatterns


async def bare(request):
    """Answers with its own server-side time, measured like a rep turn's `server_ms`."""
    return HttpResponse(str(elapsed_ms(request.arrived_at)), content_type="text/plain")


urlpatterns = [path("bench/bare", bare), *coachhub_urlpatterns]
