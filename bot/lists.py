"""Account lists as they come in (pure): a court order turned to text, an email, one handle a line, or CSV.

``read_list`` finds every handle a text names: ``@handles`` in running text, x.com and twitter.com links of
every form (profiles, ``/status/...`` posts, ``mobile.`` and ``www.``, query strings, ``#!/``), and a line
that holds one word (after a list marker such as ``1.`` or ``-``). A file whose first line has a ``handle``
column (comma, semicolon or tab separated) is CSV: each row's ``handle`` cell is read like a line of text,
its optional ``tags`` cell (tags separated by spaces or commas) and ``note`` cell go with it. Whatever
looks like an entry but is not a handle (17 letters, a link to X's own pages, Turkish letters in it) is
named with its line; each handle is kept once, its repeats named once with their lines.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from bot.handles import HANDLE_RE, RESERVED_PATHS
from bot.text import TAG_RULE, clip, is_tag

QUOTE_MAX = 60  # characters of an invalid entry quoted back
NOTE_MAX = 500
# What ends a handle or a link in running text: spaces, punctuation around words, quotes of every
# language (Turkish writes @name'in), the Devanagari danda.
_STOP = r"\s,;:()\[\]{}<>\"'‘’“”«»|\\।॥"
_DOMAIN = r"(?:https?://)?(?:(?:www|mobile|m)\.)?(?:x|twitter)\.com"
_LINK_RE = re.compile(rf"(?<![\w.@/-]){_DOMAIN}(?P<path>/[^{_STOP}]*)", re.IGNORECASE)  # with ?query, #!/
_MENTION_RE = re.compile(rf"(?<![\w.@+/-])@(?P<name>[^{_STOP}!?@/]+)")
_MARKER_RE = re.compile(r"^(?:[-*•·▪◦–—]+|\(?\d{1,5}[.)\]:])\s*")  # 1. 2) (3) - * •
_TRAILING = ".,;:!?…-"
_HANDLE_CHARS = re.compile(r"[A-Za-z0-9_]")
_TAG_SPLIT = re.compile(r"[\s,]+")
_COMMENT_RE = re.compile(r"\s*#(?:[\s#]|$)")


@dataclass(frozen=True, slots=True)
class Entry:
    """A handle the list names: the first line naming it, as written there, with its tags and note."""

    line: int
    text: str
    handle: str
    tags: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Invalid:
    """Something that looks like an entry and is not a handle, with its line and why."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Repeat:
    """A handle named more than once (any case, any form): kept once, at its first line."""

    handle: str
    lines: tuple[int, ...]  # every line naming it, the first included, in order


@dataclass(frozen=True, slots=True)
class AccountList:
    """What a list holds: each handle once (in the order first named), its repeats, its invalid entries."""

    format: str  # "text" or "csv"
    entries: tuple[Entry, ...]
    repeats: tuple[Repeat, ...]
    invalid: tuple[Invalid, ...]


@dataclass(slots=True)
class _Found:
    """One handle or one invalid entry found on a line, before repeats are merged."""

    line: int
    text: str
    handle: str | None = None
    reason: str = ""
    tags: tuple[str, ...] = ()
    note: str = ""


@dataclass(slots=True)
class _Collector:
    by_key: dict[str, Entry] = field(default_factory=dict)
    lines: dict[str, list[int]] = field(default_factory=dict)
    invalid: list[Invalid] = field(default_factory=list)

    def add(self, found: _Found) -> None:
        if found.handle is None:
            self.invalid.append(Invalid(found.line, clip(found.text, QUOTE_MAX), found.reason))
            return
        key = found.handle.casefold()
        self.lines.setdefault(key, []).append(found.line)
        first = self.by_key.get(key)
        if first is None:
            self.by_key[key] = Entry(found.line, found.text, found.handle, found.tags, found.note)
        else:  # a repeat adds its tags (and a note the first had not)
            tags = tuple(sorted(set(first.tags) | set(found.tags)))
            self.by_key[key] = Entry(first.line, first.text, first.handle, tags, first.note or found.note)

    def result(self, fmt: str) -> AccountList:
        repeats = tuple(Repeat(self.by_key[key].handle, tuple(lines))
                        for key, lines in self.lines.items() if len(lines) > 1)
        return AccountList(fmt, tuple(self.by_key.values()), repeats, tuple(self.invalid))


def parse_tags(text: str) -> tuple[list[str], list[str]]:
    """Tags as people write them ('journalist, tr', '#journalist tag:tr'): lower-cased, and the words that
    are not tags."""
    tags: list[str] = []
    bad: list[str] = []
    for word in _TAG_SPLIT.split(text.strip()):
        tag = word.lower().removeprefix("#").removeprefix("tag:")
        if is_tag(tag):
            tags.append(tag)
        elif word:
            bad.append(word)
    return tags, bad


def read_list(text: str, tags: Sequence[str] = ()) -> AccountList:
    """Every handle ``text`` names, once each, with ``tags`` added to each; the repeats and invalid entries."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    delimiter = _csv_delimiter(lines)
    collector = _Collector()
    found = _csv_rows(lines, delimiter, tags) if delimiter else _text_lines(lines, tags)
    for item in found:
        collector.add(item)
    return collector.result("csv" if delimiter else "text")


def _text_lines(lines: Sequence[str], tags: Sequence[str]) -> Iterator[_Found]:
    for number, line in enumerate(lines, start=1):
        if _COMMENT_RE.match(line):  # a comment of a hand-kept list ('# from the 2021 order'), not a #hashtag
            continue
        for item in scan_line(line, number):
            item.tags = tuple(sorted(set(tags)))
            yield item


def scan_line(line: str, number: int) -> list[_Found]:
    """The handles and invalid entries of one line of text, in the order written."""
    found: list[tuple[int, _Found]] = []
    spans: list[tuple[int, int]] = []
    for match in _LINK_RE.finditer(line):
        spans.append(match.span())
        item = _from_link(match.group(0), match.group("path"), number)
        if item is not None:
            found.append((match.start(), item))
    for match in _MENTION_RE.finditer(line):
        if any(start <= match.start() < end for start, end in spans):
            continue
        name = match.group("name").rstrip(_TRAILING)
        if name:
            found.append((match.start(), _named(f"@{name}", name, number)))
    if not found and not spans:
        word = _one_word(line)
        if word is not None:
            found.append((0, _bare(word, number)))
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]


def _one_word(line: str) -> str | None:
    """The word a line holds alone (after a list marker), when it could be meant as a handle."""
    rest = _MARKER_RE.sub("", line.strip(), count=1).strip()
    if not rest.rstrip(_TRAILING) or any(char.isspace() for char in rest):
        return None
    # Decoration (-----, ***) and words of other scripts alone on a line are text, not entries.
    return rest if _HANDLE_CHARS.search(rest) else None


def _bare(word: str, number: int) -> _Found:
    name = word.rstrip(_TRAILING)  # 'name,' in a list
    if name.isdigit():
        return _Found(number, word, reason=f"only digits, like a number or a page: write @{name} if it is a handle")
    return _named(word, name, number)


def _named(text: str, name: str, number: int) -> _Found:
    """``name`` as a handle, or the reason it is not one."""
    if HANDLE_RE.fullmatch(name):
        return _Found(number, text, handle=name)
    return _Found(number, text, reason=_why_not(name))


def _why_not(name: str) -> str:
    if not _HANDLE_CHARS.sub("", name) and len(name) > 15:
        return f"not an X handle: {len(name)} characters, X allows at most 15"
    return "not an X handle: 1 to 15 letters a-z, digits or underscores"


def _from_link(text: str, path: str, number: int) -> _Found | None:
    """The handle a link names (a profile, a post), None for a bare domain, or why it names none."""
    shown = text.rstrip(_TRAILING)
    path, _, query = path.partition("?")
    path = path.split("#", 1)[0] if not path.startswith("/#!/") else path[3:]
    segments = [segment for segment in path.split("/") if segment]
    if not segments:
        return None
    first = segments[0].rstrip(_TRAILING) if len(segments) == 1 else segments[0]
    name = first.removeprefix("@")
    if not first.startswith("@") and name.lower() in RESERVED_PATHS:
        return _from_page(shown, name.lower(), segments, query, number)
    return _named(shown, name, number) if name else None


def _from_page(shown: str, page: str, segments: list[str], query: str, number: int) -> _Found:
    """A link to one of X's own pages: an intent link names its account; the rest name none."""
    screen_name = parse_qs(query).get("screen_name", [""])[0]
    if page == "intent" and screen_name:
        return _named(shown, screen_name, number)
    if page == "i" and len(segments) > 1 and segments[1].lower() == "user":
        return _Found(number, shown, reason="a link to an account by its number: give the account's handle")
    if page == "i" and "status" in (segment.lower() for segment in segments):
        return _Found(number, shown, reason="a link to a post that does not name its account: give the handle")
    return _Found(number, shown, reason=f"a link to X's {page!r} page, not to an account")


def _csv_delimiter(lines: Sequence[str]) -> str | None:
    """The delimiter of a CSV file whose first line has a ``handle`` column; None for text."""
    first = next((line for line in lines if line.strip()), "")
    for delimiter in (",", ";", "\t"):
        cells = next(csv.reader([first], delimiter=delimiter), [])
        if len(cells) > 1 or delimiter == ",":
            if any(cell.strip().lstrip("\ufeff").lower() == "handle" for cell in cells):
                return delimiter
    return None


def _csv_rows(lines: Sequence[str], delimiter: str, tags: Sequence[str]) -> Iterator[_Found]:
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    header: list[str] | None = None
    start = 1
    for row in reader:
        number, start = start, reader.line_num + 1  # a quoted cell may span lines: a row is named by its first
        if header is None:
            if any(cell.strip() for cell in row):
                header = [cell.strip().lstrip("\ufeff").lower() for cell in row]
            continue
        cells = dict(zip(header, row, strict=False))
        if not any(cell.strip() for cell in row):
            continue
        yield from _csv_row(cells, number, tags)


def _csv_row(cells: dict[str, str], number: int, tags: Sequence[str]) -> Iterator[_Found]:
    handle_cell = cells.get("handle", "").strip()
    if not handle_cell:
        yield _Found(number, ",".join(cells.values()), reason="no handle in the handle column")
        return
    row_tags, bad = parse_tags(cells.get("tags", ""))
    if bad:
        yield _Found(number, handle_cell, reason=f"{bad[0]!r} in the tags column is not a tag: {TAG_RULE}")
        return
    note = clip(" ".join("".join(c for c in cells.get("note", "") if c.isprintable() or c.isspace()).split()),
                NOTE_MAX)
    items = scan_line(handle_cell, number)
    if not items:
        yield _Found(number, handle_cell, reason="not an X handle: 1 to 15 letters a-z, digits or underscores")
    for item in items:
        item.tags, item.note = tuple(sorted(set(row_tags) | set(tags))), note
        yield item
