"""Every rate limit of CoachHub in one place: per-user allowances on expensive actions (turns,
voice uploads, KPI uploads, scoring actions), the rates and keys of the per-address limits on
logins, password resets and invitation passwords, one-at-a-time claims, and the request-body limit.

Per-user allowances are counted here (`enforce`), the per-address ones by django-ratelimit's
decorators on the views, which read their rates and keys from this module.
"""

from __future__ import annotations

import time
import unicodedata
from inspect import iscoroutinefunction

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.shortcuts import render

from .errors import ApplicationError, error_body


class RateLimited(ApplicationError):
    status_code = 429


# Words for limits that guard more than one entry point (a page and its API say the same thing).
KPI_UPLOAD_LIMITED = (
    "Too many KPI uploads in a minute: wait a moment, then upload the file again. Nothing from it was imported."
)
SCORING_LIMITED = "Too many score reviews in a minute: wait a moment and try again. Nothing was saved."


def _per_minute(rate: str) -> int:
    count, _, period = rate.partition("/")
    if period not in ("m", "min", "minute"):
        raise ValueError(f"rate {rate!r}: only per-minute rates are supported")
    return int(count)


def enforce(*, action: str, user_id: int, message: str) -> None:
    """Counts one `action` for the user; raises RateLimited once the minute's allowance is used.

    Fixed one-minute windows with an atomic increment: cheap, shared across processes when the cache
    is Redis. Not django-ratelimit's counter: its key includes the rate, so a changed allowance would
    start the minute's count again, and a cache hiccup there refuses the request."""
    allowed = _per_minute(settings.USER_RATE_LIMITS[action])
    window = int(time.time() // 60)
    key = f"limit:{action}:{user_id}:{window}"
    if cache.add(key, 1, timeout=70):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # the window expired between add() and incr()
            cache.add(key, 1, timeout=70)
            count = 1
    if count > allowed:
        raise RateLimited(message, code="rate_limited")


# --- per address: logins, password resets, invitation passwords (django-ratelimit) ----------------
# Rates are read at request time, so settings (and tests) can change them.


def login_rate(group, request) -> str:
    return settings.LOGIN_RATE


def password_reset_rate(group, request) -> str:
    return settings.PASSWORD_RESET_RATE


def invitation_password_rate(group, request) -> str:
    return settings.INVITATION_PASSWORD_RATE


def normalized_email(value: str) -> str:
    """The one spelling of an address that every per-account limit counts on: the form strips the
    value and the account lookup ignores case, so " Rep@Acme.example\u3000" must count as the same
    account as "rep@acme.example" (NFKC folds full-width and compatibility characters too)."""
    return unicodedata.normalize("NFKC", value or "").strip().lower()


def login_email_key(group, request) -> str:
    """django-ratelimit key for the login form: the normalised email, not the raw POST value."""
    return normalized_email(request.POST.get("username", ""))


def password_reset_email_key(group, request) -> str:
    return normalized_email(request.POST.get("email", ""))


# --- one at a time ---------------------------------------------------------------------------------
# A claim marks work in flight (one customer reply per rep line) so a burst of identical requests
# makes one expensive call, not one each. It expires by itself, so a process that dies mid-call
# can't block the work for longer than `timeout` seconds.


def claim(key: str, *, timeout: int) -> bool:
    """True when this caller now holds `key`; False when someone else does."""
    return cache.add(f"claim:{key}", 1, timeout=timeout)


def release(key: str) -> None:
    cache.delete(f"claim:{key}")


# --- request bodies over the form limit -----------------------------------------------------------


def body_limit_message() -> str:
    megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
    return (
        f"That was more than CoachHub accepts in one form ({megabytes:g} MB). Nothing was saved: "
        "shorten the longest fields (or import long content as a file) and send it again."
    )


class OversizedBodyMiddleware:
    """Refuses a form or JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE before anything reads it.

    Left to Django, the first read of `request.POST` (the CSRF check) raises RequestDataTooBig: a
    bare 400, or the debug page in the demo. Here an API caller gets 413 in the one error shape; a
    page shows the same form again (as if opened afresh) with a message naming the limit, and 413.
    Files in a multipart page form are not counted (their own limits apply in the services).
    Sits before CsrfViewMiddleware, after the session and messages middleware."""

    API_TYPES = ("application/json", "application/x-www-form-urlencoded")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def _oversized(self, request, types) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return False
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return limit is not None and length > limit and content_type in types

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith("/api/"):
            if self._oversized(request, self.API_TYPES):
                return JsonResponse(error_body("request_too_large", body_limit_message()), status=413)
            return None
        if request.method != "POST":
            return None
        try:
            _ = request.POST  # what the CSRF check reads next; multipart counts only the non-file fields
        except RequestDataTooBig:
            pass
        else:
            return None
        message = body_limit_message()
        if iscoroutinefunction(view_func):  # async views only take uploads (voice): no form to show
            return render(request, "413.html", {"message": message}, status=413)
        request.method = "GET"  # render the page as when it was opened; nothing from the body is read
        messages.error(request, message)
        response = view_func(request, *view_args, **view_kwargs)
        if response.status_code == 405 or 300 <= response.status_code < 400:
            # A POST-only action (or a page that redirects): no form to show again, so say it plainly.
            list(messages.get_messages(request))  # consumed here, not shown twice later
            return render(request, "413.html", {"message": message}, status=413)
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
        response.status_code = 413
        return response
