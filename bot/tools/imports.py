"""`presswatch import`: read an account list (a file or standard input), say what it would add, what is
watched already and what is not a handle, and with ``apply`` watch the new accounts beside a running daemon.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from bot.config.model import Config
from bot.lists import AccountList, Entry, read_list
from bot.storage.accounts import open_db
from bot.storage.database import open_readonly
from bot.storage.roster import IMPORT, NewAccount, Roster
from bot.text import clip

MAX_BYTES = 16 * 1024 * 1024  # a list of accounts; India's 2021 order named about 1,200
REFERENCE_MAX = 200
# Documents that are not text yet, by their first bytes: what to do with each.
_NOT_TEXT = (
    (b"%PDF-", "a PDF: turn it into text first (pdftotext FILE list.txt), then import that"),
    (b"PK\x03\x04", "a zipped document (.xlsx, .ods or .docx): save it as CSV or plain text, then import that"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls or .doc): save it as CSV or plain text, then import that"),
)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


class ListError(Exception):
    """The list cannot be read; the message is the whole line to print."""


@dataclass(frozen=True, slots=True)
class Known:
    """A handle of the list that is watched already: from where, and the reference it was imported with."""

    entry: Entry
    source: str
    reference: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    """What importing a list does: the accounts it adds, those watched already, and the list itself."""

    name: str  # the file's name as given, or "standard input"
    found: AccountList
    new: tuple[Entry, ...]
    known: tuple[Known, ...]


def read_source(path: str, stdin: BinaryIO | None = None) -> tuple[str, str]:
    """The text of the file (``-``: standard input) and the name to call it by; ListError when unreadable."""
    name = "standard input" if path == "-" else path
    try:
        if path == "-":
            raw = (stdin or sys.stdin.buffer).read(MAX_BYTES + 1)
        else:
            with Path(path).open("rb") as file:
                raw = file.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ListError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ListError(f"{name}: is a folder, not a list") from None
    except OSError as exc:
        raise ListError(f"{name}: cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise ListError(f"{name}: larger than {MAX_BYTES // 2**20} MiB: a list of accounts is far smaller")
    return decode(raw, name), name


def decode(raw: bytes, name: str) -> str:
    """UTF-8 (or UTF-16 with its byte-order mark, as spreadsheets save it); ListError for anything else."""
    for magic, what in _NOT_TEXT:
        if raw.startswith(magic):
            raise ListError(f"{name}: is {what}")
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(encoding)
            except UnicodeDecodeError:
                raise ListError(f"{name}: is not valid {encoding.upper()} text") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ListError(f"{name}: is not UTF-8 text (byte 0x{raw[exc.start]:02X} on line {line}):"
                        " save it as UTF-8, then import it again") from None
    if "\x00" in text:
        raise ListError(f"{name}: is a binary file, not a list of accounts")
    return text


def clean_reference(text: str) -> str:
    """A reference as stored and shown: one line, spaces collapsed; ValueError when unusable."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise ValueError("--source: give the list's reference, e.g. --source \"Court order 2016/1234\"")
    if any(not char.isprintable() for char in cleaned):
        raise ValueError("--source: control characters are not allowed")
    if len(cleaned) > REFERENCE_MAX:
        raise ValueError(f"--source: at most {REFERENCE_MAX} characters ({len(cleaned)} given)")
    return cleaned


def plan_import(config: Config, text: str, name: str, tags: Sequence[str]) -> Plan:
    """What importing ``text`` would do, reading the database read-only (it may not exist yet)."""
    found = read_list(text, tags)
    db = open_readonly(config.database)
    try:
        store = Roster(db).watching(e.handle for e in found.entries) if db is not None else {}
    finally:
        if db is not None:
            db.close()
    in_config = {entry.x_handle.casefold() for entry in config.watchlist if entry.x_handle}  # imports are X's
    new: list[Entry] = []
    known: list[Known] = []
    for entry in found.entries:
        key = entry.handle.casefold()
        if key in store:
            known.append(Known(entry, store[key].source, store[key].reference))
        elif key in in_config:  # the daemon adds it at its next start
            known.append(Known(entry, "config", None))
        else:
            new.append(entry)
    return Plan(name, found, tuple(new), tuple(known))


def apply_import(config: Config, plan: Plan, reference: str | None, now: datetime) -> Plan:
    """Watch the plan's new accounts; the plan as it came out (one added meanwhile elsewhere is known)."""
    db = open_db(config.database)
    try:
        added = Roster(db).add_imported([NewAccount(e.handle, e.tags, e.note) for e in plan.new], reference, now)
    finally:
        db.close()
    keys = {account.handle.casefold() for account in added}
    late = tuple(Known(e, "another process", None) for e in plan.new if e.handle.casefold() not in keys)
    return Plan(plan.name, plan.found, tuple(e for e in plan.new if e.handle.casefold() in keys),
                plan.known + late)


def plan_rows(plan: Plan, *, applied: bool, reference: str | None) -> list[dict[str, Any]]:
    """One JSON object per entry of the list, in the order of the file."""
    rows: list[tuple[int, int, dict[str, Any]]] = []
    for e in plan.new:
        rows.append((e.line, 0, _row(e.line, e.text, e.handle, "added" if applied else "new", e.tags, e.note,
                                     IMPORT, reference)))
    for k in plan.known:
        rows.append((k.entry.line, 0, _row(k.entry.line, k.entry.text, k.entry.handle, "watched", k.entry.tags,
                                           k.entry.note, k.source, k.reference)))
    for r in plan.found.repeats:
        for line in r.lines[1:]:
            rows.append((line, 1, _row(line, f"@{r.handle}", r.handle, "repeated", (), "", None, None)
                         | {"first_line": r.lines[0]}))
    for i in plan.found.invalid:
        rows.append((i.line, 2, _row(i.line, i.text, None, "invalid", (), "", None, None) | {"error": i.reason}))
    return [row for _, _, row in sorted(rows, key=lambda item: (item[0], item[1]))]


def _row(line: int, text: str, handle: str | None, status: str, tags: Sequence[str], note: str,
         source: str | None, reference: str | None) -> dict[str, Any]:
    return {"line": line, "text": text, "handle": handle, "status": status, "tags": list(tags), "note": note,
            "source": source, "reference": reference, "error": None}


def plan_lines(plan: Plan, *, applied: bool, reference: str | None) -> list[str]:
    """The plan in words, a section a kind, one entry a line."""
    found = plan.found
    lines = [f"{plan.name}: {len(found.entries)} accounts ({len(plan.new)} {'added' if applied else 'new'},"
             f" {len(plan.known)} watched already), {len(found.repeats)} named more than once,"
             f" {len(found.invalid)} invalid entries"]
    if plan.new:
        lines.append(f"{'Added' if applied else 'New, to be added'} ({len(plan.new)}):")
        lines += [f"  line {e.line}: @{e.handle}{_tags(e.tags)}" for e in plan.new]
    if plan.known:
        lines.append(f"Watched already ({len(plan.known)}):")
        lines += [f"  line {k.entry.line}: @{k.entry.handle}, from {_origin(k.source, k.reference)}"
                  for k in plan.known]
    if found.repeats:
        lines.append(f"Named more than once, counted once ({len(found.repeats)}):")
        lines += [f"  @{r.handle}: lines {', '.join(map(str, r.lines))}" for r in found.repeats]
    if found.invalid:
        lines.append(f"Invalid, not imported ({len(found.invalid)}):")
        lines += [f"  line {i.line}: {i.text!r}: {i.reason}" for i in found.invalid]
    lines.append(_closing(plan, applied, reference))
    return lines


def _closing(plan: Plan, applied: bool, reference: str | None) -> str:
    listed = f', listed in "{reference}"' if reference else " (no --source: they carry no reference)"
    if applied:
        return (f"Watching {len(plan.new)} more accounts{listed}. A running presswatch polls them from its next"
                " cycle; the first poll of each is its baseline, never an alert." if plan.new
                else "Nothing to add: every account of the list is watched already.")
    if not plan.new:
        return "Nothing to add: every account of the list is watched already. Nothing was written."
    return f"Nothing was written: add --apply to watch the {len(plan.new)} new accounts{listed}."


def _tags(tags: Sequence[str]) -> str:
    return f" (tags: {', '.join(tags)})" if tags else ""


def _origin(source: str, reference: str | None) -> str:
    return f"{source} ({clip(reference, 80)})" if reference else source
