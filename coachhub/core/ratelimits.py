"""The per-address rates and keys now live in coachhub.core.limits with every other rate limit; these
names stay for the dotted paths django-ratelimit's decorators name ("coachhub.core.ratelimits.…")."""

from .limits import (  # noqa: F401
    invitation_password_rate,
    login_email_key,
    login_rate,
    normalized_email,
    password_reset_email_key,
    password_reset_rate,
)
