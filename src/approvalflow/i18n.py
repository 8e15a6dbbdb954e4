"""The words people read, from gettext catalogs; dates and numbers per locale.

Every sentence approvalflow shows a person (emails, Inbox+ notes, the audit
trail's summaries, the command line's reports) is a message of one gettext
domain, ``approvalflow``, whose English text is the msgid. The catalogs
ship in ``approvalflow/locale/<language>/LC_MESSAGES/approvalflow.mo``;
a host adds a language, or rewords one, with catalogs of its own in the same
layout (``EmailComposer(locale_dirs=[...])``): its messages win, the shipped
ones fill the gaps. The languages are whatever catalogs are found.

Dates, times and numbers are written with Babel (CLDR data) in the reader's
locale and IANA time zone.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.support import NullTranslations, Translations

__all__ = [
    "DEFAULT_LANGUAGE",
    "DOMAIN",
    "LOCALE_DIR",
    "N_",
    "Words",
    "languages",
    "time_zone",
    "translations",
    "words",
]

#: The gettext domain of every message.
DOMAIN = "approvalflow"
#: The shipped catalogs: ``<language>/LC_MESSAGES/approvalflow.mo``.
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: The language of the msgids, and of readers who have none.
DEFAULT_LANGUAGE = "en"


def N_(message: str) -> str:  # noqa: N802 - gettext's name for it
    """Mark ``message`` for the catalogs without translating it yet.

    For texts chosen before the reader is known (a table of labels):
    translate them with :meth:`Words.gettext` when shown.
    """
    return message


def _dirs(locale_dirs: Iterable[str | Path]) -> tuple[str, ...]:
    return tuple(str(Path(d)) for d in locale_dirs)


def languages(locale_dirs: Iterable[str | Path] = ()) -> tuple[str, ...]:
    """The languages with a catalog, shipped or in one of ``locale_dirs``."""
    found = {
        mo.parent.parent.name
        for folder in (*_dirs(locale_dirs), str(LOCALE_DIR))
        for mo in Path(folder).glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
    }
    return tuple(sorted(found))


@functools.lru_cache(maxsize=64)
def _translations(language: str, locale_dirs: tuple[str, ...]) -> NullTranslations:
    result: NullTranslations = Translations.load(str(LOCALE_DIR), [language], DOMAIN)
    # The host's catalogs first: a message they have wins, the rest falls
    # through to the shipped catalog (and, failing that, to the English msgid).
    for folder in reversed(locale_dirs):
        host = Translations.load(folder, [language], DOMAIN)
        if isinstance(host, Translations):
            host.add_fallback(result)
            result = host
    return result


def translations(
    language: str, locale_dirs: Iterable[str | Path] = ()
) -> NullTranslations:
    """The catalog of ``language`` (host catalogs in ``locale_dirs`` first).

    A language without a catalog gives the msgids: English.
    """
    return _translations(language, _dirs(locale_dirs))


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``"Europe/Paris"``), or :class:`ValueError`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = f"{name!r} is not an IANA time zone such as Europe/Paris or UTC"
        raise ValueError(msg) from exc


@attrs.frozen
class Words:
    """Messages, dates and numbers for one reader: a language and a time zone."""

    #: The reader's language (a catalog's name: ``"en"``, ``"fr"``, ...).
    language: str = DEFAULT_LANGUAGE
    #: The reader's IANA time zone (``"UTC"`` unless they have one).
    zone: str = "UTC"
    #: Host catalogs searched before the shipped ones.
    locale_dirs: tuple[str, ...] = ()

    @property
    def catalog(self) -> NullTranslations:
        """The reader's catalog."""
        return _translations(self.language, self.locale_dirs)

    def gettext(self, msgid: str, /, **values: Any) -> str:
        """``msgid`` in the reader's language, ``%(name)s`` filled from ``values``."""
        text: str = self.catalog.gettext(msgid)
        return text % values if values else text

    @property
    def locale(self) -> Locale:
        """The reader's CLDR locale (English for a language CLDR does not know)."""
        try:
            return Locale.parse(self.language)
        except (UnknownLocaleError, ValueError):
            return Locale.parse(DEFAULT_LANGUAGE)

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """The form of ``singular``/``plural`` the reader's language uses for ``n``.

        The catalog's plural rule picks it (French says "1 événement", and
        "0 événement" too; German and English "0 Ereignisse", "0 events").
        ``%(name)s`` are filled from ``values``.
        """
        text: str = self.catalog.ngettext(singular, plural, n)
        return text % values if values else text

    def time(self, moment: datetime) -> str:
        """``moment`` in the reader's zone and locale, with the zone's offset.

        The one style of every time approvalflow shows a person (command
        line, emails, history, audit summaries): CLDR's ``medium`` date and
        time of the reader's locale, ``29 nov. 2026, 13:45:00 UTC+01:00`` in
        French for Paris, ``Nov 29, 2026, 12:45:00 PM GMT`` in English for
        London; never an ambiguous ``12/04``. The offset is written so a
        line read elsewhere still says which time it was. Files for machines
        (exports, logs) keep ISO 8601 instead.
        """
        local = moment.astimezone(time_zone(self.zone))
        when = babel_dates.format_datetime(local, "medium", locale=self.locale)
        offset = babel_dates.get_timezone_gmt(local, "long", locale=self.locale)
        return f"{when} {offset}"

    def date(self, moment: datetime) -> str:
        """The day of ``moment`` in the reader's zone: CLDR's ``medium`` date."""
        local = moment.astimezone(time_zone(self.zone))
        return babel_dates.format_date(local, "medium", locale=self.locale)

    def number(self, value: float) -> str:
        """``value`` with the reader's locale's digits grouping and decimal mark."""
        return babel_numbers.format_decimal(value, locale=self.locale)


def words(
    language: str | None = None,
    zone: str | None = None,
    locale_dirs: Iterable[str | Path] = (),
) -> Words:
    """:class:`Words` for a reader; ``None`` means English, or UTC."""
    return Words(language or DEFAULT_LANGUAGE, zone or "UTC", _dirs(locale_dirs))
