"""Hostile text for the XSS corpus: each payload, if it ever ran, would set `window.__xss` (or open a
dialog), so a test can tell execution from display. All fit a 100-character name field."""

from __future__ import annotations

MARKUP = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    '"><svg onload=window.__xss=3>',
    "'><img src=x onerror=window.__xss=4>",
    "</textarea><script>window.__xss=5</script>",
    "</title></style><script>window.__xss=6</script>",
    '<iframe srcdoc="<script>parent.__xss=7</script>"></iframe>',
    '<a href="javascript:alert(8)">click me</a>',
    '<div hx-get="/" hx-trigger="load" hx-on:load="window.__xss=9">htmx</div>',
    "<style>body{display:none}</style>hidden?",
]

NOT_MARKUP = [
    "javascript:window.__xss=10",  # a URL-ish string: harmless as text, dangerous in href
    "{{7*7}} ${7*7} {% now 'Y' %} #{7*7}",  # template injection, server or client side
    "\u202eevil\u202c \uff1cscript\uff1e zero\u200bwidth \u00e9\u0301 \U0001f600 < b & c",  # bidi, fullwidth, ZW, emoji
]

PAYLOADS = MARKUP + NOT_MARKUP

# Long text for fields that allow it (turns, comments, notes): still escaped at any length.
LONG = ("<script>window.__xss=99</script> " * 55).strip()
