"""Rate strings read at request time, so settings (and tests) can change them, and the keys the
login-type limits count on."""

from __future__ import annotations

import unicodedata

from django.conf import settings


def login_rate(group, request) -> str:
    return settings.LOGIN_RATE


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


def password_reset_rate(group, request) -> str:
    return settings.PASSWORD_RESET_RATE


def invitation_password_rate(group, request) -> str:
    return settings.INVITATION_PASSWORD_RATE
