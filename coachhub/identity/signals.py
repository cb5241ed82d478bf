"""Remembers the session key of every login so `sessions_end_for_user` can end them all later.

A receiver of Django's own `user_logged_in`, because a login happens in several places (password,
invitation, SSO) and each must be recorded; it writes one small row and has no other effect."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .models import SignedInSession


@receiver(user_logged_in, dispatch_uid="identity.record_session")
def _record_session(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    if session.session_key is None:
        session.save()
    SignedInSession.objects.get_or_create(session_key=session.session_key, defaults={"user": user})
