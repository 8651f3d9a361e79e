"""Loading a model from a YAML file: ${VAR} substitution, and every problem named by path and line."""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bot.config.reader import ConfigError, LineMap, Loc, Problem, dotted, line_of, read_yaml
from bot.models import Secrets

M = TypeVar("M", bound=BaseModel)

_ENV_RE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PREFIXES = ("Value error, ", "Assertion failed, ")
_SHAPES = {
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "dict_type": "expected a mapping of keys",
    "list_type": "expected a list",
    "missing": "required key is missing",
    "string_type": "expected text",
    "bool_type": "expected true or false",
    "path_type": "expected a file or folder path",
}


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


def load_model(path: Path, env: Mapping[str, str], model: type[M], secret_paths: Iterable[Loc],
               parsed: tuple[Any, LineMap, list[Problem]] | None = None) -> M:
    """Read ``path`` (or take what was ``parsed`` from it), substitute ${VAR}s from ``env`` and validate it
    as ``model``; relative paths in it are relative to ``path``'s folder."""
    data, lines, problems = parsed if parsed is not None else read_yaml(path)
    if not isinstance(data, dict):
        found = "the file is empty" if data is None else f"found {_kind(data)}"
        raise ConfigError([Problem("", f"expected a mapping (version: 1, database: ..., ...); {found}", 1)])
    data, missing = substitute_env(data, env)
    problems += [Problem(dotted(loc), message, line_of(lines, loc)) for loc, message in missing]
    try:
        result = model.model_validate(data, context={"base_dir": path.absolute().parent})
    except ValidationError as exc:
        # A value already reported (unset ${VAR}, unreadable YAML) is not reported again by its field.
        reported = {problem.path for problem in problems}
        fields = problems_from_validation(exc, lines, model, {loc for loc, _ in missing})
        problems += [problem for problem in fields if problem.path not in reported]
    if problems:
        secrets = [value for loc in secret_paths for value in _lookup_all(data, loc)]
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
    """Problems with every secret value scrubbed (``Secrets.scrub``: replaced by [redacted])."""
    scrubbed = Secrets.of(secrets)
    return [Problem(problem.path, scrubbed.scrub(problem.message), problem.line) for problem in problems]


def _lookup_all(data: Any, loc: Loc) -> list[Any]:
    """The raw values at ``loc``, where a '*' stands for every item of a list."""
    if "*" not in loc:
        return [_lookup(data, loc)]
    at = loc.index("*")
    items = _lookup(data, loc[:at])
    return [value for item in (items if isinstance(items, list) else [])
            for value in _lookup_all(item, loc[at + 1 :])]


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
    if isinstance(value, bool):
        return "true or false"
    return "text" if isinstance(value, str) else "a number"
