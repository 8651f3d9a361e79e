"""YAML loading for the config: plain data, the line of every key and item, ${VAR} substitution."""

from __future__ import annotations

import math
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Loc = tuple[str | int, ...]
LineMap = dict[Loc, int]
M = TypeVar("M", bound=BaseModel)

_ENV_RE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_RE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d)\s*)+")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_PLAIN_SECONDS_RE = re.compile(r"\d+(?:\.\d+)?")
_PREFIXES = ("Value error, ", "Assertion failed, ")
_SHAPES = {
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "dict_type": "expected a mapping of keys",
    "list_type": "expected a list",
    "missing": "required key is missing",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the config: where (dotted path, YAML line) and what."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line is not None else ""
        return f"{self.path or '(file)'}: {self.message}{where}"


class ConfigError(Exception):
    """The config is invalid; ``problems`` lists everything wrong with it, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class _Loader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans, so a country list [NO, ON] stays text."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem("", f"file not found: {path}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem("", f"cannot read {path}: {exc}")]) from None
    return parse_yaml(text)


def parse_yaml(text: str) -> tuple[Any, LineMap, list[Problem]]:
    """Compose ``text`` and build plain data, recording lines; syntax errors raise ConfigError."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: LineMap = {}
        problems: list[Problem] = []
        data = None if node is None else _build(node, (), loader, lines, problems)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_syntax_problem(exc)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return data, lines, problems


def _syntax_problem(exc: yaml.MarkedYAMLError) -> Problem:
    """A YAML error as one problem with its line (never the snippet: it could hold a secret)."""
    mark = exc.problem_mark or exc.context_mark
    words = [part for part in (exc.context, exc.problem) if part]
    return Problem("", "invalid YAML: " + ", ".join(words), mark.line + 1 if mark else None)


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
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        problems.append(Problem(dotted(loc), f"unsupported YAML value: {exc.problem}", _line(node)))
        return None


def _build_mapping(
    node: MappingNode, loc: Loc, loader: _Loader, lines: LineMap, problems: list[Problem]
) -> dict[Any, Any]:
    """A mapping as a dict; a repeated key is a problem at its second occurrence."""
    first_lines: dict[Any, int] = {}
    repeated: set[int] = set()
    for key_node, _ in node.value:
        key = _key(key_node, loader)
        if key is None or key_node.tag == _MERGE_TAG:
            continue
        if key in first_lines:
            repeated.add(id(key_node))
            message = f"duplicate key (first at line {first_lines[key]})"
            problems.append(Problem(dotted((*loc, key)), message, _line(key_node)))
        else:
            first_lines[key] = _line(key_node)
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = _key(key_node, loader)
        if key is None:
            problems.append(Problem(dotted(loc), "a key must be plain text", _line(key_node)))
        elif id(key_node) not in repeated:
            lines[(*loc, key)] = _line(key_node)
            result[key] = _build(value_node, (*loc, key), loader, lines, problems)
    return result


def _key(node: Node, loader: _Loader) -> str | int | None:
    """A mapping key as text or a number; None when it is a list, a mapping or unreadable."""
    if not isinstance(node, ScalarNode):
        return None
    try:
        key = loader.construct_object(node)
    except yaml.YAMLError:
        return None
    return key if isinstance(key, str | int) else str(key)


def _line(node: Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def substitute_env(data: Any, env: Mapping[str, str]) -> tuple[Any, list[tuple[Loc, str]]]:
    """Replace ${VAR} in every string value ($${ is a literal ${); also return the unset ones."""
    missing: list[tuple[Loc, str]] = []

    def expand(text: str, loc: Loc) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name is None:
                return "${"
            if name in env:
                return env[name]
            missing.append((loc, f"environment variable {name} is not set"))
            return ""

        return _ENV_RE.sub(replace, text)

    def walk(value: Any, loc: Loc) -> Any:
        if isinstance(value, str):
            return expand(value, loc)
        if isinstance(value, dict):
            return {key: walk(item, (*loc, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*loc, index)) for index, item in enumerate(value)]
        return value

    return walk(data, ()), missing


def parse_duration(value: object) -> float:
    """30, 2.5, '30s', '10m', '1h30m', '500ms', '90' -> seconds (a float above 0)."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if _PLAIN_SECONDS_RE.fullmatch(text):
            seconds = float(text)
        elif _DURATION_RE.fullmatch(text):
            parts = _DURATION_PART_RE.findall(text)
            seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    if seconds is None:
        raise ValueError(f"{value!r} is not a duration (use 30s, 10m, 1h or seconds)")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{value!r} is not a duration above zero (use 30s, 10m, 1h or seconds)")
    return seconds


def format_duration(seconds: float) -> str:
    """600 -> '10m', 5400 -> '1h30m', 45 -> '45s', 0.5 -> '500ms'."""
    rest = round(seconds * 1000)
    if rest <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def load_model(path: Path, env: Mapping[str, str], model: type[M], secret_paths: Iterable[Loc]) -> M:
    """Read ``path``, substitute ${VAR}s from ``env`` and validate it as ``model``."""
    data, lines, problems = read_yaml(path)
    if not isinstance(data, dict):
        found = "the file is empty" if data is None else f"found {_kind(data)}"
        raise ConfigError([Problem("", f"expected a mapping (version: 1, database: ..., ...); {found}", 1)])
    data, missing = substitute_env(data, env)
    problems += [Problem(dotted(loc), message, line_of(lines, loc)) for loc, message in missing]
    try:
        result = model.model_validate(data, context={"base_dir": path.absolute().parent})
    except ValidationError as exc:
        skip = {loc for loc, _ in missing}
        problems += problems_from_validation(exc, lines, model, skip)
    if problems:
        secrets = [_lookup(data, loc) for loc in secret_paths]
        problems.sort(key=lambda problem: (problem.line or 0, problem.path))
        raise ConfigError(redact(problems, [str(value) for value in secrets if value is not None]))
    return result


def problems_from_validation(
    exc: ValidationError, lines: LineMap, model: type[BaseModel], skip: Iterable[Loc] = ()
) -> list[Problem]:
    """Pydantic errors as problems with dotted YAML paths and lines, never echoing the input."""
    skipped = tuple(skip)
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple("from" if part == "from_" else part for part in error["loc"])
        if any(loc[: len(prefix)] == prefix for prefix in skipped):
            continue
        problems.append(Problem(dotted(loc), _message(error, model, loc), line_of(lines, loc)))
    return problems


def _message(error: ErrorDetails, model: type[BaseModel], loc: Loc) -> str:
    """Pydantic's message in the operator's words."""
    if error["type"] == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        known = ", ".join(_keys(parent)) if parent else ""
        return f"unknown key (a typo? known keys: {known})" if known else "unknown key"
    if error["type"] in _SHAPES:
        return _SHAPES[error["type"]]
    message = error["msg"]
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    return message


def _keys(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts, as written in YAML."""
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc``, following field types."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int) and get_origin(current) is list:
            current = get_args(current)[0]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            fields = {field.alias or name: field for name, field in current.model_fields.items()}
            current = fields[part].annotation if part in fields else None
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def redact(problems: list[Problem], secrets: Iterable[str]) -> list[Problem]:
    """Problems with every secret value replaced by ***.

    Values under 4 characters are left alone: they reveal nothing and would mangle every message.
    """
    values = sorted({secret for secret in secrets if len(secret) >= 4}, key=len, reverse=True)
    cleaned = []
    for problem in problems:
        message = problem.message
        for secret in values:
            message = message.replace(secret, "***")
        cleaned.append(Problem(problem.path, message, problem.line))
    return cleaned


def _lookup(data: Any, loc: Loc) -> Any:
    """The raw value at ``loc``, or None."""
    for part in loc:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _kind(value: object) -> str:
    """A value's YAML kind in words (never the value: it could be a secret)."""
    if isinstance(value, list):
        return "a list"
    return "text" if isinstance(value, str) else f"a {type(value).__name__}"
