"""YAML reading for the config: plain data and the line of every key and item, within firm limits.

An operator file holds secrets in ${VAR}s and is read by ``validate`` and at start, so YAML features that
make a small file expensive or surprising are refused: anchors, aliases and merge keys (an alias bomb is a
few hundred bytes), nesting deeper than 64, files over 1 MiB. Numbers keep the text they were written as.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.events import NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.config.durations import format_duration, parse_duration
from bot.config.written import WrittenFloat, WrittenInt

__all__ = [
    "ConfigError",
    "LineMap",
    "Loc",
    "Problem",
    "dotted",
    "format_duration",  # kept here for bot.links
    "line_of",
    "parse_duration",
    "parse_yaml",
    "read_yaml",
]

Loc = tuple[str | int, ...]
LineMap = dict[Loc, int]

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_HINTS = {0x1B: " (a pasted terminal colour code?)", 0x09: " (a tab?)"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the config: where (dotted path, YAML line) and what."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line is not None else ""
        return one_line_safe(f"{self.path or '(file)'}: {self.message}{where}")


def one_line_safe(text: str) -> str:
    """``text`` with line breaks and control characters escaped, so a problem is always one line."""
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


class ConfigError(Exception):
    """The config is invalid; ``problems`` lists everything wrong with it, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that a config file may not use (anchors, aliases, deep nesting)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans (a country list [NO, ON] stays text), dates stay text,
    and anchors, aliases and nesting deeper than MAX_DEPTH are refused while composing."""

    depth = 0

    def compose_node(self, parent: Node | None, index: object) -> Node:
        """The next node, refusing an anchor (&a) or an alias (*a, whose event also carries an anchor)."""
        event = self.peek_event()
        if isinstance(event, NodeEvent) and event.anchor is not None:
            raise _Refused(None, None, "anchors and aliases (&name, *name) are not supported: write the value out",
                           event.start_mark)
        if self.depth >= MAX_DEPTH:
            raise _Refused(None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def dotted(loc: Loc) -> str:
    """('subscribers', 2, 'countries') -> 'subscribers.2.countries'."""
    return ".".join(str(part) for part in loc)


def line_of(lines: LineMap, loc: Loc) -> int | None:
    """The line of ``loc``, or of its nearest ancestor the file has."""
    for end in range(len(loc), 0, -1):
        if (line := lines.get(loc[:end])) is not None:
            return line
    return None


def read_yaml(path: Path) -> tuple[Any, LineMap, list[Problem]]:
    """Parse a file into plain data and its line map; ConfigError if it cannot be read or parsed."""
    return decode_yaml(read_raw(path))


def read_raw(path: Path) -> bytes:
    """The file's bytes, at most 1 MiB of them; ConfigError if it cannot be read or is larger."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 1)  # bounded: `-c /dev/zero` must not read forever
    except FileNotFoundError:
        raise ConfigError([Problem("", f"file not found: {path}")]) from None
    except OSError as exc:
        raise ConfigError([Problem("", f"cannot read {path}: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError([Problem("", "the file is larger than 1 MiB: a config file is a few kilobytes")])
    return raw


def decode_yaml(raw: bytes) -> tuple[Any, LineMap, list[Problem]]:
    """Bytes read from a config file as plain data and its line map; ConfigError if not UTF-8 YAML."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02X})"
        raise ConfigError([Problem("", message, line)]) from None
    return parse_yaml(text)


def parse_yaml(text: str) -> tuple[Any, LineMap, list[Problem]]:
    """Compose ``text`` and build plain data, recording lines; unreadable YAML raises ConfigError."""
    try:
        loader = _Loader(text)  # the reader checks every character here, before any parsing
    except yaml.reader.ReaderError as exc:
        raise ConfigError([_reader_problem(exc, text)]) from None
    try:
        node = loader.get_single_node()
        lines: LineMap = {}
        problems: list[Problem] = []
        data = None if node is None else _build(node, (), loader, lines, problems)
    except _Refused as exc:
        raise ConfigError([Problem("", str(exc.problem), _mark_line(exc))]) from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_syntax_problem(exc)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return data, lines, problems


def _reader_problem(exc: yaml.reader.ReaderError, text: str) -> Problem:
    """A character YAML does not allow (NUL, ESC, form feed, U+FFFE), named as U+XXXX on its line."""
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    line = text.count("\n", 0, exc.position) + 1
    return Problem("", f"invalid YAML: the character U+{code:04X} is not allowed{_HINTS.get(code, '')}", line)


def _mark_line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark else None


def _syntax_problem(exc: yaml.MarkedYAMLError) -> Problem:
    """A YAML error as one problem with its line (never the snippet: it could hold a secret)."""
    words = [part for part in (exc.context, exc.problem) if part]
    return Problem("", "invalid YAML: " + ", ".join(words), _mark_line(exc))


def _build(node: Node, loc: Loc, loader: _Loader, lines: LineMap, problems: list[Problem]) -> Any:
    """Turn one node into plain Python data, recording lines and structural problems."""
    if isinstance(node, MappingNode):
        return _build_mapping(node, loc, loader, lines, problems)
    if isinstance(node, SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            items.append(_build(item, (*loc, index), loader, lines, problems))
        return items
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        problems.append(Problem(dotted(loc), f"unsupported YAML value: {exc.problem}", _line(node)))
        return None
    except ValueError:  # e.g. an integer of more digits than Python converts
        problems.append(Problem(dotted(loc), "unreadable YAML value (a number too long?)", _line(node)))
        return None
    return _written(value, node)


def _written(value: Any, node: Node) -> Any:
    """A number together with the text it was written as, so messages and text fields can quote it."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    source = str(node.value)
    return WrittenInt(value, source) if isinstance(value, int) else WrittenFloat(value, source)


def _build_mapping(
    node: MappingNode, loc: Loc, loader: _Loader, lines: LineMap, problems: list[Problem]
) -> dict[Any, Any]:
    """A mapping as a dict; a repeated key is a problem at its second occurrence, a merge key (<<) one too."""
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = _key(key_node)
        if key_node.tag == _MERGE_TAG:
            problems.append(Problem(dotted(loc), "merge keys (<<) are not supported: write the keys out",
                                    _line(key_node)))
        elif key is None:
            problems.append(Problem(dotted(loc), "a key must be plain text", _line(key_node)))
        elif key == "":
            problems.append(Problem(dotted(loc), "a key must not be empty", _line(key_node)))
        elif (*loc, key) in lines:
            message = f"duplicate key (first at line {lines[(*loc, key)]})"
            problems.append(Problem(dotted((*loc, key)), message, _line(key_node)))
        else:
            lines[(*loc, key)] = _line(key_node)
            result[key] = _build(value_node, (*loc, key), loader, lines, problems)
    return result


def _key(node: Node) -> str | None:
    """A mapping key as the text written (so ``null:`` is the key 'null'); None for a list or mapping."""
    return str(node.value) if isinstance(node, ScalarNode) else None


def _line(node: Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1
