"""Session events other apps follow (learning records, grade passback): a registry, not imports.

The runner and the scorer announce ``started``, ``ended`` and ``scored`` after their transaction
commits; apps that care register a listener at startup (``programs`` does, in its AppConfig), so
no arrow points from sessions or scoring up into them. Each listener runs on its own: a failing
one is logged and never stops the others or the practice that caused the event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.db import transaction

from coachhub.tenancy.models import Tenant

logger = logging.getLogger(__name__)

SESSION_EVENTS = ("started", "ended", "scored")
_listeners: dict[str, list[Callable[..., None]]] = {event: [] for event in SESSION_EVENTS}


def register_session_listener(event: str, listener: Callable[..., None]) -> None:
    """``listener(tenant=…, session_id=…)`` is called after each commit that causes ``event``."""
    if event not in _listeners:
        raise ValueError(f"Unknown session event {event!r}; one of {', '.join(SESSION_EVENTS)}.")
    if listener not in _listeners[event]:
        _listeners[event].append(listener)


def unregister_session_listener(event: str, listener: Callable[..., None]) -> None:
    if listener in _listeners.get(event, []):
        _listeners[event].remove(listener)


def dispatch(event: str, *, tenant: Tenant, session_id: int) -> None:
    for listener in list(_listeners[event]):
        try:
            listener(tenant=tenant, session_id=session_id)
        except Exception:
            logger.exception("Session %s listener %s failed for session %s.", event, listener, session_id)


def announce_on_commit(event: str, *, tenant: Tenant, session_id: int) -> None:
    """Tell the listeners once the current transaction commits (at once outside a transaction)."""
    if event not in _listeners:
        raise ValueError(f"Unknown session event {event!r}; one of {', '.join(SESSION_EVENTS)}.")
    if _listeners[event]:
        transaction.on_commit(partial(dispatch, event, tenant=tenant, session_id=session_id), robust=True)
