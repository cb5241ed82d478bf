"""Text helpers: uploads made safe to store, and text normalised for injection detection."""

from __future__ import annotations

import re
import unicodedata
from typing import Any


def storable(value: Any) -> Any:
    """Replaces NUL characters (which PostgreSQL text and jsonb can't hold) in every string of a
    JSON-like value, so quoting a bad cell in an error message can't break the save."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, tuple):
        return tuple(storable(item) for item in value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value


# --- normalisation for injection detection --------------------------------------------------------
#
# Detection runs on a normalised copy of the text (what the rep sees and what is stored stay as
# typed): NFKC folds fullwidth and mathematical letters to ASCII, invisible format characters are
# dropped so "Ig\u200bnore" reads as "Ignore", and Cyrillic/Greek look-alikes inside Latin-looking
# words become the Latin letter they imitate.

_INVISIBLE = frozenset(
    [0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0]
    + list(range(0x200B, 0x2010))  # zero-width space/joiners, LRM/RLM
    + list(range(0x202A, 0x202F))  # bidi embeddings and overrides
    + list(range(0x2060, 0x2070))  # word joiner, invisible operators, bidi isolates
    + list(range(0xFE00, 0xFE10))  # variation selectors
)
# Unicode "tag" characters mirror ASCII invisibly (U+E0041 is an invisible "A"); they are a known way
# to smuggle instructions past a reader, so they are read as the ASCII they mirror.
_TAG_FIRST, _TAG_LAST = 0xE0020, 0xE007E

# Letters that render like a Latin letter in common fonts (after NFKC). Curated from Unicode's
# confusables.txt for the scripts attackers actually use: Cyrillic, Greek, Armenian, Latin extensions.
_LOOKALIKE_PAIRS = (
    ("авеёһіїјкмнорстухѕԁԛԝӏүɡ", "abeehiijkmhopctyxsdqwlyg"),  # Cyrillic lowercase
    ("АВЕЁКМНОРСТХУІЇЈЅԀԚԜҮӀ", "ABEEKMHOPCTXYIIJSDQWYI"),  # Cyrillic uppercase
    ("αβγεηικνορτυχωϲϳ", "abyenikvoptuxwcj"),  # Greek lowercase
    ("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧϹ", "ABEZHIKMNOPTYXC"),  # Greek uppercase
    ("սօցոհւ", "uognhl"),  # Armenian
    ("ıȷɑɩʟᴀᴄᴏᴜᴠᴡᴢɢʜɪɴʀꜱʏℓ", "ijaiLAcouvwzGHINRsYl"),  # Latin letters that pass for plain ones
)
_LOOKALIKES = str.maketrans("".join(f for f, _ in _LOOKALIKE_PAIRS), "".join(t for _, t in _LOOKALIKE_PAIRS))
_LOOKALIKE_CHARS = frozenset("".join(f for f, _ in _LOOKALIKE_PAIRS))
_WORD_RUN = re.compile(r"\w+")


def normalize_for_detection(text: str) -> str:
    """The text as a reader perceives it, for pattern matching only (never for display or storage).

    Ordinary text in any language comes back as NFKC: "Größe", "café" and Japanese are unchanged
    (the NFKC of typical input is the input). Look-alike letters are replaced only in words that
    already contain Latin letters or consist entirely of look-alikes, so a Russian or Greek word,
    which nearly always has letters with no Latin twin, is left alone, and so is a word made only of
    look-alikes ("не", "Το") in a sentence whose other letters are not Latin.
    """
    text = unicodedata.normalize("NFKC", text)
    chars: list[str] = []
    for char in text:
        code = ord(char)
        if code in _INVISIBLE:
            continue
        if _TAG_FIRST <= code <= _TAG_LAST:
            chars.append(chr(code - 0xE0000))
            continue
        if chars and unicodedata.category(char) in {"Mn", "Me"} and chars[-1].isascii():
            # Marks stacked on an ASCII letter ("i̶g̶n̶o̶r̶e̶") don't compose into a real letter.
            continue
        chars.append(char)
    text = "".join(chars)
    letters = [char for char in text if char.isalpha() and char not in _LOOKALIKE_CHARS]
    latin_context = sum(char.isascii() for char in letters) * 2 >= len(letters)
    return _WORD_RUN.sub(lambda match: _unmask_word(match.group(0), latin_context), text)


def _unmask_word(word: str, latin_context: bool) -> str:
    """A word made only of Latin letters and look-alikes is Latin in disguise when it mixes in real
    Latin letters ("іgnоrе") or stands in Latin text; "не" in a Russian sentence stays Russian."""
    if not any(char in _LOOKALIKE_CHARS for char in word):
        return word
    letters = [char for char in word if char.isalpha()]
    if not all(char in _LOOKALIKE_CHARS or char.isascii() for char in letters):
        return word
    if latin_context or any(char.isascii() for char in letters):
        return word.translate(_LOOKALIKES)
    return word
