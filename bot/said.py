"""Sentences that can be said again in another language (pure core): operator notices.

A notice is written when something happens, but read in ``i18n.default_language`` whenever it is sent. So
its words are kept as a message id (English, marked with ``N_`` for the catalogs) and its values, beside the
English text the database, the logs and `presswatch history` show. ``Language.say`` translates them.
"""

from __future__ import annotations

import json
from typing import Any


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is defined; it is translated where it is shown."""
    return message


class Said(str):
    """The English sentence ``msgid.format(**values)``, as a str, that keeps ``msgid`` and its values.

    A value may be a Said itself (a recovery notice quotes the notice it clears). Anything else is shown
    as written: names, addresses, and the errors services answered, which are in their own words.
    """

    msgid: str
    values: dict[str, str | Said]

    def __new__(cls, msgid: str, **values: object) -> Said:
        kept = {key: value if isinstance(value, Said) else str(value) for key, value in values.items()}
        said = super().__new__(cls, msgid.format(**kept))
        said.msgid = msgid
        said.values = kept
        return said

    def words(self) -> dict[str, Any]:
        """A JSON-ready form: {"msgid": ..., "values": {...}}, a nested Said as its own words."""
        return {"msgid": self.msgid,
                "values": {key: value.words() if isinstance(value, Said) else value
                           for key, value in self.values.items()}}

    @classmethod
    def from_words(cls, words: object, text: str) -> str:
        """The Said that ``words`` describe, or ``text`` as it is when they describe none (an older row)."""
        if not isinstance(words, dict) or not isinstance(words.get("msgid"), str):
            return text
        found = words.get("values")
        values: dict[object, object] = found if isinstance(found, dict) else {}
        try:
            return cls(words["msgid"], **{str(key): cls.from_words(value, str(value)) if isinstance(value, dict)
                                          else str(value) for key, value in values.items()})
        except (KeyError, IndexError, ValueError):
            return text


def words_json(*sentences: str) -> str | None:
    """The words of these sentences as JSON (null for one that is plain text); None when none is a Said."""
    found = [s.words() if isinstance(s, Said) else None for s in sentences]
    return json.dumps(found, ensure_ascii=False) if any(found) else None


def from_json(text: str | None, *sentences: str) -> list[str]:
    """``sentences`` again as Said where ``text`` (words_json's) kept their words; as they are otherwise."""
    try:
        found = json.loads(text) if text else []
    except ValueError:
        found = []
    found = found if isinstance(found, list) else []
    return [Said.from_words(found[i] if i < len(found) else None, s) for i, s in enumerate(sentences)]
