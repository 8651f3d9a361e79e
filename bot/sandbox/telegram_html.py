"""A strict checker for Telegram's HTML parse mode: returns the plain text or raises HtmlError."""

from __future__ import annotations

import html
import re

ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "blockquote", "tg-spoiler", "span"}
)
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
_ATTR = re.compile(r"""([a-zA-Z][a-zA-Z0-9-]*)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z][a-zA-Z0-9]*));")


class HtmlError(ValueError):
    """The text is not valid Telegram HTML; str() is what follows "can't parse entities: "."""


def _offset(text: str, index: int) -> int:
    # Telegram reports byte offsets into the UTF-8 text.
    return len(text[:index].encode("utf-8"))


def _entity(text: str, index: int) -> tuple[str, int]:
    """Decode the entity at text[index] ("&"), returning its character and the next index."""
    match = _ENTITY.match(text, index)
    if match is None:
        raise HtmlError(f"Unsupported entity at byte offset {_offset(text, index)}")
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name not in NAMED_ENTITIES:
            raise HtmlError(f'Unsupported entity "&{name};" at byte offset {_offset(text, index)}')
        return NAMED_ENTITIES[name], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise HtmlError(f"Invalid numeric entity at byte offset {_offset(text, index)}")
    return chr(code), match.end()


def _check_attributes(name: str, raw: str, text: str, index: int) -> None:
    attrs = {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "") for m in _ATTR.finditer(raw)
    }
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise HtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {_offset(text, index)}')
    if name == "a" and not attrs.get("href"):
        raise HtmlError(f'Tag "a" must have attribute "href" at byte offset {_offset(text, index)}')


def parse_html(text: str) -> str:
    """Check ``text`` as Telegram parses HTML and return the plain text it would show."""
    plain: list[str] = []
    open_tags: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "&":
            decoded, index = _entity(text, index)
            plain.append(decoded)
            continue
        if char != "<":
            plain.append(char)
            index += 1
            continue
        match = _TAG.match(text, index)
        if match is None:
            raise HtmlError(f'Unexpected "<" at byte offset {_offset(text, index)}')
        closing, name, attrs, _self_closing = match.groups()
        name = name.lower()
        if closing:
            if not open_tags or open_tags[-1] != name:
                expected = f'"</{open_tags[-1]}>"' if open_tags else "no end tag"
                raise HtmlError(
                    f'Unmatched end tag at byte offset {_offset(text, index)}, expected {expected}, found "</{name}>"'
                )
            open_tags.pop()
        else:
            if name not in ALLOWED_TAGS:
                raise HtmlError(f'Unsupported start tag "{name}" at byte offset {_offset(text, index)}')
            _check_attributes(name, attrs, text, index)
            open_tags.append(name)
        index = match.end()
    if open_tags:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(plain)
