"""Numbers as the operator wrote them: YAML reads ``0x10`` as 16 and ``1:30`` as 90, but a handle
``0x10`` is the text 0x10 and a message about it must quote ``0x10``, not 16.

The YAML reader (bot.config_yaml) builds every number as a ``WrittenInt`` or ``WrittenFloat``: still an
int or a float, with its source text alongside.
"""

from __future__ import annotations


class WrittenInt(int):
    """An int read from the file, with the text the operator wrote (``0x10``, ``1_000``, ``1:30``)."""

    source: str

    def __new__(cls, value: int, source: str) -> WrittenInt:
        number = super().__new__(cls, value)
        number.source = source
        return number


class WrittenFloat(float):
    """A float read from the file, with the text the operator wrote (``1.5``, ``.inf``)."""

    source: str

    def __new__(cls, value: float, source: str) -> WrittenFloat:
        number = super().__new__(cls, value)
        number.source = source
        return number


def shown(value: object) -> str:
    """A value as the operator wrote it, for messages: a number as written (``0x10``, not 16), text quoted."""
    if isinstance(value, WrittenInt | WrittenFloat):
        return value.source
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list) else repr(value)


def text(value: object) -> str:
    """Text as written: a number YAML read in a text field is its source text (handle ``0x10`` stays 0x10)."""
    if isinstance(value, str):
        return value
    if isinstance(value, WrittenInt | WrittenFloat):
        return value.source
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    hint = " (put it in quotes)" if isinstance(value, bool) else ""
    raise ValueError(f"expected text, found {shown(value)}{hint}")
