"""Template helpers for the practice pages."""

from django import template
from django.utils.translation import ngettext

register = template.Library()


def _count(value) -> int | None:
    """A count stored either as a number or as {"count": n, …} (the voice pipeline's shape)."""
    if isinstance(value, dict):
        value = value.get("count")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


@register.filter
def delivery_words(delivery) -> str:
    """One voice turn's delivery as a rep would say it: "142 words a minute · 2 long pauses
    (longest 1.8 s) · 3 filler words: um ×2, like". Empty when there is nothing to say."""
    if not isinstance(delivery, dict):
        return ""
    parts = []
    wpm = delivery.get("words_per_minute")
    if isinstance(wpm, int | float) and not isinstance(wpm, bool) and wpm > 0:
        parts.append(f"{round(wpm)} words a minute")
    pauses = _count(delivery.get("pauses"))
    if pauses is not None:
        text = ngettext("%(n)d long pause", "%(n)d long pauses", pauses) % {"n": pauses}
        raw = delivery.get("pauses")
        longest = raw.get("longest_pause_s") if isinstance(raw, dict) else None
        if pauses and isinstance(longest, int | float) and longest > 0:
            text += f" (longest {longest:.1f} s)"
        parts.append(text)
    fillers = _count(delivery.get("fillers"))
    if fillers is not None:
        text = ngettext("%(n)d filler word", "%(n)d filler words", fillers) % {"n": fillers}
        raw = delivery.get("fillers")
        which = raw.get("which") if isinstance(raw, dict) else None
        if fillers and isinstance(which, dict) and which:
            words = sorted(which.items(), key=lambda item: (-item[1], item[0]))
            text += ": " + ", ".join(f"{w} ×{n}" if n > 1 else str(w) for w, n in words)
        parts.append(text)
    return " · ".join(parts)
