"""Month and AM/PM names in the language of an export, from CLDR (through babel), never a hand table.

Jira writes ``05/Dez/25 12:29 AM`` for a German user, ``05/déc./25`` for a French one; Spanish
exports write ``12:29 a. m.``. :func:`month_names` gives every CLDR spelling of the months in a
language — abbreviated and wide, format and stand-alone forms, of the language and all its regional
variants (German also reads Austrian ``Jän``) — plus the three-letter prefixes of the wide names
that name one month only (``Mär``, ``Sep``), with and without accents and trailing dots. A
spelling that would name two different months is left out rather than guessed.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from babel import Locale, UnknownLocaleError, localedata
from babel.core import parse_locale
from babel.dates import get_month_names, get_period_names

#: Languages tested against real export strings (tests/test_import_dates.py); others CLDR knows work too.
TESTED = ("en", "de", "fr", "es", "pt", "it", "nl")
#: Languages tried when an export's month names are not the configured ones, to name the fix.
SUGGESTED = (*TESTED, "sv", "da", "nb", "fi", "pl", "cs", "tr", "ca")
_CONTEXTS = ("format", "stand-alone")
_WIDTHS = ("abbreviated", "wide")


def fold(word: str) -> str:
    """Case-folded, trailing dots removed, Unicode composed (``Dez.`` → ``dez``)."""
    return unicodedata.normalize("NFC", word).casefold().strip().rstrip(".")


def _plain(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def language(locale: str) -> str:
    """The CLDR language of a ``locale`` setting (``de``, ``de_AT``, ``pt-BR``); ValueError if unknown."""
    try:
        return Locale.parse(locale.replace("-", "_")).language
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from None


@functools.cache
def _variants(lang: str) -> tuple[str, ...]:
    """The language and its regional variants in the same script (not en_Dsrt, sr_Latn)."""
    out = []
    for ident in localedata.locale_identifiers():
        parts = parse_locale(ident)
        if parts[0] == lang and parts[2] is None:
            out.append(ident)
    return tuple(out)


@functools.cache
def month_names(lang: str) -> dict[str, int]:
    """Folded month spelling → month number (1–12) for one language, from CLDR.

    Example::

        >>> names = month_names("de")
        >>> names["dez"], names["mär"], names["märz"], names["jän"], names["sept"]
        (12, 3, 3, 1, 9)
    """
    found: dict[str, set[int]] = {}

    def add(word: str, month: int) -> None:
        for w in {fold(word), fold(_plain(word))}:
            if w and not w.isdigit():
                found.setdefault(w, set()).add(month)

    wide: dict[int, set[str]] = {}
    for ident in _variants(lang):
        for width in _WIDTHS:
            for context in _CONTEXTS:
                for month, name in get_month_names(width, context, ident).items():
                    add(name, month)
                    if width == "wide":
                        wide.setdefault(month, set()).add(name)
    prefixes: dict[str, set[int]] = {}
    for month, names in wide.items():
        for name in names:
            for w in {fold(name)[:3], fold(_plain(name))[:3]}:
                prefixes.setdefault(w, set()).add(month)
    for w, months in prefixes.items():
        if len(months) == 1 and w not in found:
            found[w] = months
    return {w: next(iter(m)) for w, m in found.items() if len(m) == 1}


@functools.cache
def period_pattern(lang: str) -> re.Pattern[str]:
    """A pattern for the language's AM/PM markers after a time (``a. m.``, ``p.m.``, ``PM``)."""
    alternatives: dict[str, str] = {}
    for ident in ("en", *_variants(lang)):
        for width in ("abbreviated", "wide"):
            names = get_period_names(width, "format", ident)
            for key in ("am", "pm"):
                if key in names:
                    parts = [re.escape(p) for p in re.split(r"[\s.\u202f\xa0]+", names[key]) if p]
                    if parts:
                        alternatives[r"\.?\s*".join(parts) + r"\.?"] = key.upper()
    body = "|".join(f"(?P<{key}{i}>{pat})" for i, (pat, key) in enumerate(alternatives.items()))
    return re.compile(rf"(?<=\d)\s*(?:{body})(?=\s|$)", re.IGNORECASE)


def normalise_period(text: str, lang: str) -> str:
    """``12:29 a. m.`` → ``12:29 AM`` (the language's markers, and English)."""
    def repl(m: re.Match[str]) -> str:
        group = next(k for k, v in m.groupdict().items() if v is not None)
        return " " + group[:2].upper()
    return period_pattern(lang).sub(repl, text)


_TOKEN = re.compile(r"[^\W\d_]+\.?")


def words(text: str) -> list[str]:
    """The alphabetic words of a date text (``05/Dez/25 12:29 AM`` → ``Dez``, ``AM``)."""
    return _TOKEN.findall(text)


def languages_for(unknown: set[str]) -> list[str]:
    """The languages of :data:`SUGGESTED` whose month names include every word of ``unknown``."""
    return [lang for lang in SUGGESTED if lang != "en" and all(w in month_names(lang) for w in unknown)]
