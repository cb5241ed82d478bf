"""Rate strings read at request time, so settings (and tests) can change them."""

from django.conf import settings


def login_rate(group, request) -> str:
    return settings.LOGIN_RATE
