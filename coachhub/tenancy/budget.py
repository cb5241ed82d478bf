"""Per-tenant LLM token budgets, reserved before each call and settled after it.

A reservation is one conditional UPDATE (`used + reserved + estimate <= budget`), which PostgreSQL
applies under the row's lock: concurrent calls can never reserve past the monthly budget, so the
most a tenant can overspend is what one call uses beyond its own estimate. The per-minute budget is
an atomic counter in the cache.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from types import TracebackType

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.models import F
from django.utils import timezone

from coachhub.core.errors import ApplicationError

from .context import tenant_context
from .models import AISettings, Tenant, TokenLedger

logger = logging.getLogger(__name__)


class BudgetExceeded(ApplicationError):
    status_code = 429


# Conservative tokens per character by script, so a reservation doesn't undercount what a call
# will use: English and other ASCII text runs about 4 characters a token; accented Latin text
# splits more; Cyrillic, Greek, Arabic, Hebrew, Devanagari and CJK text is often a token a
# character or more in common tokenizers (some CJK characters and emoji take two or three).
# Overestimating only holds budget until the call settles with its real usage.
_ASCII_PER_CHAR = 0.25
_LATIN_PER_CHAR = 0.5
_OTHER_SCRIPT_PER_CHAR = 1.0
_ASTRAL_PER_CHAR = 2.0  # emoji and other characters outside the Basic Multilingual Plane
TOKENS_PER_MESSAGE = 4


def estimate_tokens(text: str) -> int:
    """A conservative token count for `text` (never below what the common tokenizers produce for
    the scripts above)."""
    if text.isascii():  # most prompts: one C-level scan instead of a Python loop over every character
        return int(len(text) * _ASCII_PER_CHAR) + 1
    ascii_chars = latin = other = astral = 0
    for char in text:
        code = ord(char)
        if code < 0x80:
            ascii_chars += 1
        elif code < 0x250:
            latin += 1
        elif code < 0x10000:
            other += 1
        else:
            astral += 1
    total = (ascii_chars * _ASCII_PER_CHAR + latin * _LATIN_PER_CHAR + other * _OTHER_SCRIPT_PER_CHAR
             + astral * _ASTRAL_PER_CHAR)
    return int(total) + 1


def estimate_prompt_tokens(texts) -> int:
    """Tokens of a chat prompt made of these message texts, with the chat format's overhead."""
    return sum(estimate_tokens(text) + TOKENS_PER_MESSAGE for text in texts)


@dataclass(frozen=True)
class Reservation:
    tenant_id: int
    month: str  # ISO date of the month's first day
    tokens: int


def _month_start():
    return timezone.localdate().replace(day=1)


def budget_reserve(*, tenant: Tenant, estimate: int, ai_settings: AISettings | None = None) -> Reservation:
    """Reserves `estimate` tokens or raises BudgetExceeded with a message for the rep or admin.
    Pass the tenant's `ai_settings` row when the caller already read it."""
    settings_row = ai_settings if ai_settings is not None else AISettings.objects.for_tenant(tenant).first()
    month = _month_start()
    estimate = max(1, int(estimate))
    minute_key = None
    if settings_row is not None and settings_row.per_minute_token_budget:
        minute_key = _reserve_minute(tenant.id, settings_row.per_minute_token_budget, estimate)
    ledger = TokenLedger.objects.for_tenant(tenant)
    rows = ledger.filter(month=month)
    if settings_row is not None and settings_row.monthly_token_budget is not None:
        rows = rows.filter(used__lte=settings_row.monthly_token_budget - estimate - F("reserved"))
    # The month's ledger row usually exists: reserve first, create it only when nothing matched.
    if rows.update(reserved=F("reserved") + estimate) == 0 and (
        ledger.get_or_create(tenant=tenant, month=month) and rows.update(reserved=F("reserved") + estimate) == 0
    ):
        if minute_key is not None:  # refused: the call won't happen, so it takes none of the minute
            cache.decr(minute_key, estimate)
        raise BudgetExceeded(
            "Your organization has used this month's AI budget. Ask your admin to raise it in AI settings; "
            "your session is saved.",
            code="ai_budget_exhausted",
        )
    return Reservation(tenant_id=tenant.id, month=month.isoformat(), tokens=estimate)


def budget_settle(*, tenant: Tenant, reservation: Reservation | None, used: int) -> None:
    """Turns a reservation into actual use (0 when the call failed and used nothing)."""
    if reservation is None:
        return
    TokenLedger.objects.for_tenant(tenant).filter(month=reservation.month).update(
        reserved=F("reserved") - reservation.tokens, used=F("used") + max(0, int(used))
    )


class Meter:
    """One metered model call: reserved once when made (`metered`), settled exactly once by
    `close()`, whichever of success, error or disconnect gets there first; later calls are no-ops.

    The caller states what the call used with `charge()`; a call that closes uncharged (the rep
    left mid-reply, the stream broke, the engine reports no usage) is charged its whole
    reservation, since we can't know what the provider billed."""

    def __init__(self, tenant: Tenant, reservation: Reservation | None) -> None:
        self.tenant = tenant
        self.reservation = reservation
        self.used: int | None = None
        self.closed = reservation is None
        self._lock = threading.Lock()  # the stream's last hop and the response's close may race

    @property
    def tokens(self) -> int:
        """Tokens reserved (0 for a call that costs nothing)."""
        return self.reservation.tokens if self.reservation is not None else 0

    def charge(self, used: int) -> None:
        self.used = max(0, int(used))

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
        used = self.tokens if self.used is None else self.used
        with tenant_context(self.tenant):
            try:
                budget_settle(tenant=self.tenant, reservation=self.reservation, used=used)
            except DatabaseError:
                # The connection died with the call (a restart, a failover): settle on a fresh one,
                # unless a caller's transaction holds it, where nothing more can be written.
                if connection.in_atomic_block:
                    logger.warning("token reservation of %s tokens left open for tenant %s", self.tokens, self.tenant.id)
                    return
                connection.close()
                try:
                    budget_settle(tenant=self.tenant, reservation=self.reservation, used=used)
                except DatabaseError:
                    logger.exception("token reservation of %s tokens left open for tenant %s", self.tokens, self.tenant.id)

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def metered(
    *, tenant: Tenant, estimate: int, ai_settings: AISettings | None = None, at_least: int | None = None
) -> Meter:
    """Reserves `estimate` tokens for one model call (raises BudgetExceeded) and returns the meter
    that settles them: `with metered(...) as meter:` where the call ends in the same block, or keep
    the meter and `close()` it from every exit where the call outlives the block (a streamed reply).
    An estimate of 0 (an engine that calls no model) reserves and settles nothing.

    With `at_least`, a call that can do with less (its answer capped to fit) is granted what is left
    of the month when that is less than `estimate` but at least `at_least`: `meter.tokens` is what
    was granted, so the call can't spend past the budget by more than its own estimate's error."""
    if estimate <= 0:
        return Meter(tenant, None)
    if at_least is None:
        return Meter(tenant, budget_reserve(tenant=tenant, estimate=estimate, ai_settings=ai_settings))
    settings_row = ai_settings if ai_settings is not None else AISettings.objects.for_tenant(tenant).first()
    for _ in range(3):  # another call may take what was left between the read and the reservation
        room = budget_room(tenant=tenant, ai_settings=settings_row)
        granted = estimate if room is None else min(estimate, room)
        try:
            return Meter(tenant, budget_reserve(
                tenant=tenant, estimate=max(granted, at_least), ai_settings=settings_row
            ))
        except BudgetExceeded as exc:
            # Only a month another call just took more of is worth reading again.
            if exc.code != "ai_budget_exhausted" or granted < at_least:
                raise
    raise BudgetExceeded(
        "Your organization's AI budget is being used up right now. Wait a moment and try again.",
        code="ai_budget_exhausted",
    )


def budget_room(*, tenant: Tenant, ai_settings: AISettings | None = None) -> int | None:
    """Tokens left this month, reservations counted (None: no monthly cap)."""
    settings_row = ai_settings if ai_settings is not None else AISettings.objects.for_tenant(tenant).first()
    if settings_row is None or settings_row.monthly_token_budget is None:
        return None
    ledger = budget_status(tenant=tenant)
    return max(0, settings_row.monthly_token_budget - ledger.used - ledger.reserved)


class CallBudget:
    """Meters each model call of a job that makes several (the judge asks again when an answer is
    unusable): each call reserves its own prompt and answer before it goes out, capped to what is
    left, and settles after. Handed to an engine by the job; the engine itself stays free of the
    database."""

    def __init__(self, *, tenant: Tenant, ai_settings: AISettings | None = None) -> None:
        self.tenant = tenant
        self.ai_settings = ai_settings

    def call(self, *, prompt_tokens: int, answer_tokens: int, minimum_answer: int) -> Meter:
        """The meter of the next call; `meter.tokens - prompt_tokens` is the answer it may ask for.
        Raises BudgetExceeded when not even `minimum_answer` fits."""
        return metered(
            tenant=self.tenant, estimate=prompt_tokens + answer_tokens, ai_settings=self.ai_settings,
            at_least=prompt_tokens + minimum_answer,
        )


def budget_status(*, tenant: Tenant) -> TokenLedger:
    return TokenLedger.objects.for_tenant(tenant).filter(month=_month_start()).first() or TokenLedger(
        tenant=tenant, month=_month_start()
    )


def _reserve_minute(tenant_id: int, allowance: int, estimate: int) -> str:
    """Counts `estimate` against this minute's allowance; returns the counter's key."""
    key = f"llm-tokens:{tenant_id}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=70)
    try:
        total = cache.incr(key, estimate)
    except ValueError:  # the window rolled over between add() and incr()
        cache.add(key, estimate, timeout=70)
        total = estimate
    if total > allowance:
        cache.decr(key, estimate)
        raise BudgetExceeded(
            "The AI is busy for your organization right now (per-minute limit). Wait a minute and try again; "
            "your session is saved.",
            code="ai_rate_exhausted",
        )
    return key
