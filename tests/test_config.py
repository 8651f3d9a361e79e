"""The config loader: models, ${VAR}s, durations, and problems named by path and line."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config.model import (
    Config,
    ConfigError,
    Problem,
    format_duration,
    load_config,
    parse_duration,
)
from bot.config.reader import MAX_BYTES, parse_yaml
from bot.config.written import WrittenInt

ROOT = Path(__file__).resolve().parent.parent
ENV = {"X_BEARER_TOKEN": "x-token-1234", "TELEGRAM_BOT_TOKEN": "123:tg-token", "SMTP_PASSWORD": "smtp-pw-987"}
ONE_CHANNEL = "exactly one of email, telegram_chat, webhook or matrix_room"
BASE = """\
version: 1
database: presswatch.db
x:
  bearer_token: ${X_BEARER_TOKEN}
watchlist:
  - handle: MahirZeynalov
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    """Write a config file and return its path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[Problem]:
    """The problems load_config reports for ``text``."""
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), ENV if env is None else env)
    return caught.value.problems


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Config:
    """A valid config from ``text``."""
    return load_config(write(tmp_path, text), ENV if env is None else env)


BAD = [
    ("unknown_top_key", BASE + "alerts: []\n", "alerts", "unknown key (a typo? known keys: version,", 7),
    ("missing_x", "version: 1\ndatabase: a.db\nwatchlist: []\n", "x", "required key is missing", None),
    (
        "missing_token",
        BASE.replace("  bearer_token: ${X_BEARER_TOKEN}", "  timeout: 5s"),
        "x.bearer_token",
        "required key is missing",
        3,
    ),
    (
        "too_many_confirmations",
        BASE + "detection: {confirmations: 11}\n",
        "detection.confirmations",
        "less than or equal to 10",
        7,
    ),
    ("version_2", BASE.replace("version: 1", "version: 2"), "version", "expected 1 (the only config version)", 1),
    ("version_float", BASE.replace("version: 1", "version: 1.0"), "version", "expected 1 (the only config", 1),
    ("version_float_shown", BASE.replace("version: 1", "version: 1.0"), "version", "version), found 1.0", 1),
    ("version_bool", BASE.replace("version: 1", "version: true"), "version", "found true", 1),
    ("version_text", BASE.replace("version: 1", "version: '1'"), "version", "found '1'", 1),
    ("version_hex", BASE.replace("version: 1", "version: 0x1"), "version", "found 0x1", 1),
    ("database_blank", BASE.replace("presswatch.db", "' '"), "database", "must not be empty", 2),
    ("null_key", BASE + "null: 1\n", "null", "unknown key (a typo? known keys: version,", 7),
    ("merge_key", BASE + "detection:\n  <<: {confirmations: 2}\n", "detection", "merge keys (<<) are not supported", 8),
    ("home_link", BASE + "  - handle: twitter.com/home\n", "watchlist.1.handle", "X's 'home' page, not to an", 7),
    ("i_link", BASE + "  - handle: https://x.com/i/lists/1\n", "watchlist.1.handle", "X's 'i' page", 7),
    ("search_link", BASE + "  - handle: x.com/search?q=press\n", "watchlist.1.handle", "X's 'search' page", 7),
    ("x_not_mapping", "version: 1\ndatabase: a.db\nx: 5\nwatchlist: []\n", "x", "expected a mapping", 3),
    (
        "duplicate_key",
        BASE.replace("x:\n", "x:\n  timeout: 5s\n  timeout: 6s\n"),
        "x.timeout",
        "duplicate key (first at line 4)",
        5,
    ),
    (
        "duplicate_handle",
        BASE + "  - handle: '@mahirzeynalov'\n",
        "watchlist.1.handle",
        "duplicate: '@mahirzeynalov' is already watchlist.0",
        7,
    ),
    ("bad_handle", BASE + "  - handle: not a handle\n", "watchlist.1.handle", "is not an X handle", 7),
    ("bad_tag", BASE + "    tags: [ok, Bad Tag]\n", "watchlist.0.tags.1", "'Bad Tag' is not a tag", 7),
    (
        "watchlist_missing",
        BASE.replace("watchlist:\n  - handle: MahirZeynalov\n", ""),
        "watchlist",
        "required key is missing",
        None,
    ),
]
X_BAD = [
    ("poll_interval: 10x", "x.poll_interval", "'10x' is not a duration (use auto, 30s, 10m, 1h or seconds)"),
    ("poll_interval: Auto", "x.poll_interval", "'Auto' is not a duration (use auto, 30s"),
    ("min_poll_interval: 1ms", "x.min_poll_interval", "1ms is too short: at least 100ms"),
    ("min_poll_interval: auto", "x.min_poll_interval", "'auto' is not a duration (use 30s"),
    ("reserve: 60%", "x.reserve", "'60%' is too much: at most 50% (the regular polls need the rest)"),
    ("reserve: 10", "x.reserve", "expected a percentage like 10%, found 10 (write 10%)"),
    ("reserve: 0.1", "x.reserve", "expected a percentage like 10%, found 0.1 (write 0.1%)"),
    ("reserve: ten", "x.reserve", "expected a percentage like 10%, found 'ten'"),
    ("reserve: -5%", "x.reserve", "expected a percentage like 10%, found '-5%'"),
    ("poll_interval: 0", "x.poll_interval", "above zero"),
    ("api_base_url: ftp://x.example", "x.api_base_url", "is not an http:// or https:// URL"),
    ("rate_limit: {requests: 0, per: 15m}", "x.rate_limit.requests", "greater than 0"),
    ("rate_limit: {requests: 5}", "x.rate_limit.per", "required key is missing"),
    ("polling: 10m", "x.polling",
     "known keys: bearer_token, api_base_url, poll_interval, min_poll_interval, reserve, jitter, timeout"),
    ("poll_interval: 1ms", "x.poll_interval", "1ms is too short: at least 100ms"),
    ("poll_interval: 2d", "x.poll_interval", "2d is too long: at most 1d"),
    ("poll_interval: 10:00", "x.poll_interval", "'10:00' is not a duration"),
    ("poll_interval: 99999999999d", "x.poll_interval", "longer than 100 years"),
    ("timeout: 1ms", "x.timeout", "1ms is too short: at least 100ms"),
    ("timeout: 1h", "x.timeout", "1h is too long: at most 5m"),
    ("jitter: 6m\n  poll_interval: 10m", "x.jitter", "6m is too long: at most 5m, half of poll_interval (10m)"),
    ("rate_limit: {requests: true, per: 15m}", "x.rate_limit.requests", "expected a whole number, found true"),
    ("rate_limit: {requests: 1.5, per: 15m}", "x.rate_limit.requests", "expected a whole number, found 1.5"),
    ("rate_limit: {requests: 300, per: 1ms}", "x.rate_limit.per", "1ms is too short: at least 1s"),
    ('api_base_url: "http://x.example/\\e[0m"', "x.api_base_url", "is not an http:// or https:// URL"),
]
SUBSCRIBER_BAD = [
    (
        "email: desk@example.org\n    countries: [tr, TRK]",
        "subscribers.1.countries.1",
        "'TRK' is not an ISO 3166 alpha-2 code",
        15,
    ),
    (
        "email: desk@example.org\n    events: [restricted, withdrawn]",
        "subscribers.1.events.1",
        "'withdrawn' is not an event kind or group: use restricted, restored, other, withheld",
        15,
    ),
    ("email: desk@example.org\n    events: []", "subscribers.1.events", "at least one", 15),
    ("email: not an address", "subscribers.1.email", "is not an email address", 14),
    ("email: desk@example.org\n    telegram_chat: 5", "subscribers.1", ONE_CHANNEL, 13),
    ("countries: [TR]", "subscribers.1", ONE_CHANNEL, 13),
    ("telegram_chat: -100123", "subscribers.1.telegram_chat", "needs a telegram section", 14),
    ("email: desk@example.org\n    tags: ['#x']", "subscribers.1.tags.0", "is not a tag", 15),
    (
        "email: desk@example.org\n    country: [TR]",
        "subscribers.1.country",
        "unknown key (a typo? known keys: name, email, telegram_chat, webhook, matrix_room, language, countries, "
        "events, tags, platforms)",
        15,
    ),
    (
        "email: x@example.org\n  - name: ' ok '\n    email: y@example.org",
        "subscribers.2.name",
        "duplicate: ' ok ' is already subscribers.0",
        15,
    ),
    ("email: x@example.org\n  - name: ''\n    email: y@example.org", "subscribers.2.name", "must not be empty", 15),
    ("email: desk@example.org\n    countries: [0x10]", "subscribers.1.countries.0", "'0x10' is not an ISO 3166", 15),
]
EMAIL = "email:\n  host: smtp.example.org\n  from: alerts@example.org\n"
TG = "telegram:\n  bot_token: 123:abc\n"


def sender(value: str) -> str:
    """The email section with ``from: value`` (line 9 after BASE)."""
    return EMAIL.replace("from: alerts@example.org", f"from: {value}")


# One problem each, after BASE (line 7 on).
SECTION_BAD = [
    (sender('"alerts@example.org\\nBcc: all@example.org"'), "email.from", "must be one line: no line breaks", 9),
    (sender('"presswatch\\t<alerts@example.org>"'), "email.from", "control characters (found U+0009)", 9),
    (sender("a@example.org, b@example.org"), "email.from", "is more than one mailbox", 9),
    (sender("Press, Desk <a@example.org>"), "email.from", "is not a mailbox", 9),
    (sender("Desk <a@example.org> more"), "email.from", "is not a mailbox", 9),
    ('email:\n  host: " "\n  from: a@example.org\n', "email.host", "must not be empty", 8),
    ("email:\n  host: smtp example.org\n  from: a@example.org\n", "email.host", "is not a host name", 8),
    (EMAIL + "  port: true\n", "email.port", "expected a whole number, found true", 10),
    (EMAIL + "  port: 0x1BB\n", "email.port", "expected a whole number in plain digits, found 0x1BB", 10),
    (EMAIL + "  port: 587.0\n", "email.port", "expected a whole number, found 587.0", 10),
    (EMAIL + "  port: " + "9" * 5000 + "\n", "email.port", "unreadable YAML value", 10),
    (EMAIL + "  username: ''\n", "email.username", "must not be empty", 10),
    (EMAIL + "  timeout: 1ms\n", "email.timeout", "1ms is too short: at least 100ms", 10),
    (TG + "  admins: [true]\n", "telegram.admins.0", "expected a whole number, found true", 9),
    (TG + "  admins: [0]\n", "telegram.admins.0", "0 is not a Telegram user id", 9),
    (TG + "  admins: [-5]\n", "telegram.admins.0", "-5 is not a Telegram user id", 9),
    (TG + "  commands: 1\n", "telegram.commands", "expected true or false", 9),
    (TG + "  commands: 'yes'\n", "telegram.commands", "expected true or false", 9),
    (TG + "  rate_limit: {overall_per_second: true}\n", "telegram.rate_limit.overall_per_second", "found true", 9),
    (TG + "  rate_limit: {group_per_minute: .inf}\n", "telegram.rate_limit.group_per_minute", "found .inf", 9),
    ("detection: {confirmations: true}\n", "detection.confirmations", "expected a whole number, found true", 7),
    ("detection: {confirmations: 2.0}\n", "detection.confirmations", "expected a whole number, found 2.0", 7),
    ("delivery:\n  retry_initial: 1h\n  retry_max: 1m\n", "delivery.retry_max", "1m is shorter than retry_initial", 9),
    ("delivery:\n  retry_initial: 20m\n", "delivery.retry_max", "15m is shorter than retry_initial (20m)", 7),
    ("delivery:\n  retry_max: 2h\n  give_up_after: 1h\n", "delivery.give_up_after", "shorter than retry_max (2h)", 9),
    ("delivery:\n  give_up_after: 1ms\n", "delivery.give_up_after", "1ms is too short: at least 1m", 8),
    ("delivery:\n  retry_initial: 1ms\n", "delivery.retry_initial", "1ms is too short: at least 100ms", 8),
]
# Subscribers 0 (email) and 1 (Telegram) exist; each body adds lines from 17 on.
RECIPIENTS = BASE + TG + EMAIL + (
    "subscribers:\n  - name: Desk\n    email: desk@example.org\n  - name: Group\n    telegram_chat: -1001\n"
)
C = "  - name: C\n    "
RECIPIENT_BAD = [
    ('  - name: "Desk\\nBcc: x@example.org"\n    email: b@example.org\n', "subscribers.2.name", "must be one line", 17),
    ('  - name: "Desk\\u2028two"\n    email: b@example.org\n', "subscribers.2.name", "(found U+2028)", 17),
    ('  - name: "\\e[31mDesk"\n    email: b@example.org\n', "subscribers.2.name", "(found U+001B)", 17),
    ("  - name: " + "d" * 201 + "\n    email: b@example.org\n", "subscribers.2.name", "at most 200", 17),
    (C + 'email: "c@example.org\\r\\nBcc: x@example.org"\n', "subscribers.2.email", "one line", 18),
    (C + "email: c@example.org, d@example.org\n", "subscribers.2.email", "more than one email address", 18),
    (C + 'email: "c\\a@example.org"\n', "subscribers.2.email", "(found U+0007)", 18),
    (C + "telegram_chat: true\n", "subscribers.2.telegram_chat", "expected a whole number, found true", 18),
    (C + "telegram_chat: 0\n", "subscribers.2.telegram_chat", "0 is not a Telegram chat id", 18),
    (C + "telegram_chat: 9007199254740993\n", "subscribers.2.telegram_chat", "is not a Telegram chat", 18),
    (C + "telegram_chat: -1001\n", "subscribers.2.telegram_chat", "duplicate: -1001 is already subscribers.1", 18),
    (C + "telegram_chat: '-1001'\n", "subscribers.2.telegram_chat", "duplicate: '-1001' is already", 18),
    (C + "email: DESK@Example.org\n", "subscribers.2.email", "'DESK@Example.org' is already subscribers.0", 18),
    ("operators:\n  - telegram_chat: 7\n  - telegram_chat: 7\n", "operators.1.telegram_chat", "7 is already", 19),
    ("operators:\n  - email: o@example.org\n  - email: O@example.org\n", "operators.1.email", "operators.0", 19),
    ('operators:\n  - name: "On\\ncall"\n    telegram_chat: 7\n', "operators.0.name", "must be one line", 18),
    ("operators:\n  - name: ' '\n    telegram_chat: 7\n", "operators.0.name", "must not be empty", 18),
]


@pytest.mark.parametrize(("text", "path", "message", "line"), [case[1:] for case in BAD], ids=[c[0] for c in BAD])
def test_each_bad_value_is_named_by_path_and_line(
    tmp_path: Path, text: str, path: str, message: str, line: int | None
) -> None:
    found = {problem.path: problem for problem in problems(tmp_path, text)}
    assert path in found, found
    assert message in found[path].message
    assert found[path].line == line


@pytest.mark.parametrize(("setting", "path", "message"), X_BAD)
def test_bad_x_settings_are_reported_at_their_key(tmp_path: Path, setting: str, path: str, message: str) -> None:
    text = BASE.replace("x:\n", f"x:\n  {setting}\n")
    (problem,) = problems(tmp_path, text)
    assert (problem.path, problem.line) == (path, 4)
    assert message in problem.message


@pytest.mark.parametrize(("body", "path", "message", "line"), SUBSCRIBER_BAD)
def test_bad_subscribers_are_reported_at_their_key(
    tmp_path: Path, body: str, path: str, message: str, line: int
) -> None:
    text = BASE + EMAIL + "subscribers:\n  - name: ok\n    email: a@example.org\n  - name: Desk\n    " + body + "\n"
    found = {problem.path: problem for problem in problems(tmp_path, text)}
    assert (path, line) in {(problem.path, problem.line) for problem in found.values()}, found
    assert message in found[path].message


@pytest.mark.parametrize(("body", "path", "message", "line"), RECIPIENT_BAD)
def test_bad_recipients_are_reported_at_their_key(
    tmp_path: Path, body: str, path: str, message: str, line: int
) -> None:
    (problem,) = problems(tmp_path, RECIPIENTS + body)
    assert (problem.path, problem.line) == (path, line)
    assert message in problem.message


@pytest.mark.parametrize(
    ("section", "path", "message", "line"),
    [
        ("email:\n  host: smtp.example.org\n", "email.from", "required key is missing", 7),
        (EMAIL.replace("alerts@example.org", "nobody"), "email.from", "'nobody' is not a mailbox", 9),
        (EMAIL + "  security: ssl\n", "email.security", "'starttls', 'tls' or 'none'", 10),
        (EMAIL + "  port: 70000\n", "email.port", "less than or equal to 65535", 10),
        ("telegram:\n  bot_token: 123:abc\n  self_service: maybe\n", "telegram.self_service", "'verify'", 9),
        (
            "telegram:\n  bot_token: 123:abc\n  rate_limit: {per_chat_per_second: 0}\n",
            "telegram.rate_limit.per_chat_per_second",
            "greater than 0",
            9,
        ),
        (
            "telegram:\n  bot_token: 123:abc\n  rate_limit: {burst: 3}\n",
            "telegram.rate_limit.burst",
            "known keys: overall_per_second, per_chat_per_second, group_per_minute",
            9,
        ),
        ("operators:\n  - name: me\n", "operators.0", "exactly one of email or telegram_chat", 8),
        ("operators:\n  - email: ops@example.org\n", "operators.0.email", "needs an email section", 8),
        ("templates: nowhere\n", "templates", "does not exist", 7),
        ("delivery:\n  retry_max: soon\n", "delivery.retry_max", "'soon' is not a duration", 8),
        *SECTION_BAD,
    ],
)
def test_bad_optional_sections_are_reported_at_their_key(
    tmp_path: Path, section: str, path: str, message: str, line: int
) -> None:
    (problem,) = problems(tmp_path, BASE + section)
    assert (problem.path, problem.line) == (path, line)
    assert message in problem.message


def test_problem_reads_as_path_message_and_line() -> None:
    problem = Problem("subscribers.2.countries.0", "'TRK' is not an ISO 3166 alpha-2 code", 41)
    assert str(problem) == "subscribers.2.countries.0: 'TRK' is not an ISO 3166 alpha-2 code (line 41)"
    assert str(Problem("", "file not found: c.yaml")) == "(file): file not found: c.yaml"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = BASE.replace("x:\n", "x:\n  poll_interval: 10x\n  colour: red\n") + (
        "  - handle: not valid!\nsubscribers:\n  - name: Press desk\n    telegram_chat: 1\n    countries: [TRK]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), {})
    found = [(problem.path, problem.line) for problem in caught.value.problems]
    assert found == [
        ("x.poll_interval", 4),
        ("x.colour", 5),
        ("x.bearer_token", 6),
        ("watchlist.1.handle", 9),
        ("subscribers.0.telegram_chat", 12),
        ("subscribers.0.countries.0", 13),
    ]
    assert str(caught.value).splitlines() == [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("version: 1\nx: [unclosed\n", "invalid YAML", 3),
        ("version: 1\n  bad: indent\n", "invalid YAML", 2),
        ("- a\n- b\n", "expected a mapping (version: 1, database: ..., ...); found a list", 1),
        ("", "the file is empty", 1),
        ("version: 1\n---\nversion: 1\n", "invalid YAML", 2),
        ("version: 1\n# \x00\n", "invalid YAML: the character U+0000 is not allowed", 2),
        ("version: 1\nx: \x1b[31mred\x1b[0m\n", "U+001B is not allowed (a pasted terminal colour code?)", 2),
        ("version: 1\n\x0c\n", "the character U+000C is not allowed", 2),
        ("version: 1\n# \ufffe\n", "the character U+FFFE is not allowed", 2),
        ("a: &a [x, x]\nb: [*a, *a]\n", "anchors and aliases (&name, *name) are not supported", 1),
        ("version: 1\nx: *undefined\n", "anchors and aliases", 2),
        ("version: 1\nx: &x\n  timeout: 5s\n", "anchors and aliases", 2),
        ("version: 1\nx: " + "[" * 600 + "]" * 600 + "\n", "nested deeper than 64 levels", 2),
        ("version: 1\nx: " + "{a: " * 600 + "1" + "}" * 600 + "\n", "nested deeper than 64 levels", 2),
    ],
)
def test_a_file_that_is_not_a_config_is_one_problem(tmp_path: Path, text: str, message: str, line: int) -> None:
    (problem,) = problems(tmp_path, text)
    assert problem.path == ""
    assert message in problem.message
    assert problem.line == line


def test_a_missing_file_is_a_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.yaml", ENV)
    assert str(caught.value) == f"(file): file not found: {tmp_path / 'absent.yaml'}"


def test_the_example_config_validates() -> None:
    env = ENV | {"MATRIX_ACCESS_TOKEN": "syt_example", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
                 "HOOK_SECRET": "hook-secret-1"}
    config = load_config(ROOT / "config.example.yaml", env)
    assert config.database == ROOT / "presswatch.db"
    assert [(entry.x_handle, entry.poll_interval) for entry in config.watchlist] == [
        ("MahirZeynalov", None), ("NamedInCourt", 60.0), ("ayse_reports", None)]
    assert config.watchlist[2].accounts()[1:] == [("bluesky", "ayse.bsky.social"), ("mastodon", "ayse@mastodon.social")]
    assert (config.x.interval, config.x.min_poll_interval, config.x.reserve, config.x.jitter) == (None, 60.0, 0.1, None)
    assert config.detection.recheck_after == 15.0
    desk, channel, turkish, slack, partner, room = config.subscribers
    assert (desk.email, desk.countries, desk.events) == ("desk@example.org", ["TR", "IN"], ["restricted", "restored"])
    assert channel.telegram_chat == -1001234567890
    assert (turkish.language, room.matrix_room, room.language) == ("tr", "!AbCdEf:example.org", "hi")
    assert slack.webhook is not None and slack.webhook.format == "slack"
    assert partner.webhook is not None and partner.webhook.secret is not None
    assert config.i18n.default_language == "en" and config.matrix is not None
    assert config.operators[0].telegram_chat == 11111111
    assert config.email is not None and config.email.from_ == "presswatch <alerts@example.org>"
    # A webhook URL is a secret even when written out (it may carry a token).
    assert sorted(config.secrets()) == sorted([*env.values(), "https://partner.example/hooks/presswatch"])


def test_env_vars_are_substituted_inside_strings_and_dollar_dollar_escapes(tmp_path: Path) -> None:
    text = BASE + "  - handle: ${HANDLE}\nsubscribers:\n  - name: Cost $${X} for ${WHO}\n    email: a@b.org\n" + EMAIL
    config = load(tmp_path, text, {**ENV, "HANDLE": "@Someone", "WHO": "desk"})
    assert config.watchlist[1].handle == "Someone"
    assert config.subscribers[0].name == "Cost ${X} for desk"
    assert config.x.bearer_token.get_secret_value() == ENV["X_BEARER_TOKEN"]


def test_env_defaults_to_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "from-os-environ")
    config = load_config(write(tmp_path, BASE))
    assert config.secrets() == ["from-os-environ"]


def test_a_missing_env_var_is_a_problem_at_its_key(tmp_path: Path) -> None:
    text = BASE.replace("${X_BEARER_TOKEN}", "Bearer ${X_BEARER_TOKEN}")
    (problem,) = problems(tmp_path, text, {})
    assert str(problem) == "x.bearer_token: environment variable X_BEARER_TOKEN is not set (line 4)"


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ("x:\n  bearer_token: ${X_BEARER_TOKEN}\n  bearer_tokn: s3cret-value\n", {"X_BEARER_TOKEN": "  "}),
        ("x:\n  bearer_token: {s3cret-value: 1}\n", {}),
        ("x:\n  bearer_token: [s3cret-value]\n", {}),
        ("x:\n  bearer_token: ${T}\nemail:\n  host: h\n  from: ${T}\n", {"T": "s3cret-value"}),
        ("x:\n  bearer_token: ${T}\nwatchlist:\n  - handle: ${T}\n", {"T": "s3cret-value"}),
        (
            "x:\n  bearer_token: ${T}\nemail: {host: h, from: a@b.org, password: ${T}, port: ${T}}\n",
            {"T": "s3cret-value"},
        ),
        ("x:\n  bearer_token: 's3cret-value\n", {}),
    ],
)
def test_a_secret_never_appears_in_a_problem(tmp_path: Path, text: str, env: dict[str, str]) -> None:
    found = problems(tmp_path, "version: 1\ndatabase: a.db\n" + text, env)
    assert found
    assert all("s3cret-value" not in str(problem) for problem in found), found


def test_a_secret_in_a_problem_is_replaced_by_redacted(tmp_path: Path) -> None:
    text = ("x:\n  bearer_token: ${T}\nemail:\n  host: h\n  from: a@b.org\n  password: ${T}\n  port: ${T}\n"
            "watchlist: []\n")
    (problem,) = problems(tmp_path, "version: 1\ndatabase: a.db\n" + text, {"T": "s3cret-value"})
    assert str(problem) == "email.port: expected a whole number in plain digits, found '[redacted]' (line 9)"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (30, 30.0),
        (2.5, 2.5),
        ("90", 90.0),
        ("30s", 30.0),
        ("10m", 600.0),
        ("1h", 3600.0),
        ("2d", 172800.0),
        ("500ms", 0.5),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("1.5m", 90.0),
    ],
)
def test_durations_parse_to_seconds(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["10x", "", "m", "1 0s", "-5s", True, None, [1], "10M"])
def test_bad_durations_say_how_to_write_one(value: object) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(value)


@pytest.mark.parametrize("value", [0, -1, "0s", float("inf")])
def test_durations_must_be_above_zero(value: object) -> None:
    with pytest.raises(ValueError, match="above zero"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(600, "10m"), (5400, "1h30m"), (45, "45s"), (0.5, "500ms"), (90061, "1d1h1m1s"), (0, "0s")],
)
def test_durations_format_back(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    if seconds:
        assert parse_duration(text) == seconds


def test_defaults_fill_every_optional_section(tmp_path: Path) -> None:
    config = load(tmp_path, BASE)
    assert (config.x.poll_interval, config.x.interval, config.x.min_poll_interval) == ("auto", None, 60.0)
    assert (config.x.reserve, config.x.jitter, config.x.timeout) == (0.1, None, 30.0)
    assert (config.x.rate_limit.requests, config.x.rate_limit.per) == (300, 900.0)
    assert config.x.api_base_url == "https://api.x.com"
    assert (config.detection.confirmations, config.detection.recheck_after) == (2, 15.0)
    assert config.watchlist[0].poll_interval is None
    assert (config.telegram, config.email, config.templates) == (None, None, None)
    assert (config.subscribers, config.operators) == ([], [])
    assert (config.delivery.retry_initial, config.delivery.retry_max, config.delivery.give_up_after) == (
        5.0,
        900.0,
        86400.0,
    )


@pytest.mark.parametrize(("x", "interval", "reserve"), [
    ("poll_interval: auto", None, 0.1),
    ("poll_interval: 10m", 600.0, 0.1),
    ("poll_interval: '90'", 90.0, 0.1),
    ("reserve: 0%", None, 0.0),
    ("reserve: 12.5%", None, 0.125),
    ("reserve: ' 50 % '", None, 0.5),
])
def test_poll_interval_is_auto_or_a_duration_and_the_reserve_a_percentage(
        tmp_path: Path, x: str, interval: float | None, reserve: float) -> None:
    config = load(tmp_path, BASE.replace("x:\n", f"x:\n  {x}\n"))
    assert (config.x.interval, config.x.reserve) == (interval, reserve)


def test_an_account_may_have_its_own_interval_and_rechecks_their_delay(tmp_path: Path) -> None:
    text = BASE + "  - handle: named_in_order\n    poll_interval: 1m\ndetection:\n  recheck_after: 5s\n"
    config = load(tmp_path, text)
    assert [entry.poll_interval for entry in config.watchlist] == [None, 60.0]
    assert config.detection.recheck_after == 5.0


@pytest.mark.parametrize(("text", "path", "message"), [
    (BASE + "    poll_interval: 1ms\n", "watchlist.0.poll_interval", "1ms is too short: at least 100ms"),
    (BASE + "    poll_interval: auto\n", "watchlist.0.poll_interval", "'auto' is not a duration"),
    (BASE + "    poll_interval: 2d\n", "watchlist.0.poll_interval", "2d is too long: at most 1d"),
    (BASE + "detection:\n  recheck_after: 0\n", "detection.recheck_after", "above zero"),
    (BASE + "detection:\n  recheck_after: 50ms\n", "detection.recheck_after", "50ms is too short: at least 100ms"),
])
def test_bad_own_intervals_and_recheck_delays_are_named(tmp_path: Path, text: str, path: str, message: str) -> None:
    (problem,) = problems(tmp_path, text)
    assert problem.path == path and message in problem.message


def test_base_urls_lose_their_trailing_slash(tmp_path: Path) -> None:
    text = BASE.replace("x:\n", "x:\n  api_base_url: http://127.0.0.1:8080/\n")
    text += "telegram:\n  bot_token: 123:abc\n  api_base_url: http://127.0.0.1:9090/bot/\n"
    config = load(tmp_path, text)
    assert config.x.api_base_url == "http://127.0.0.1:8080"
    assert config.telegram is not None and config.telegram.api_base_url == "http://127.0.0.1:9090/bot"


@pytest.mark.parametrize(
    "handle", ["MahirZeynalov", "@MahirZeynalov", "https://x.com/MahirZeynalov", "twitter.com/MahirZeynalov/"]
)
def test_handles_are_normalised(tmp_path: Path, handle: str) -> None:
    config = load(tmp_path, BASE.replace("handle: MahirZeynalov", f"handle: '{handle}'\n    tags: [Journalist]"))
    assert (config.watchlist[0].handle, config.watchlist[0].tags) == ("MahirZeynalov", ["journalist"])


def test_countries_are_normalised_and_norway_stays_a_country(tmp_path: Path) -> None:
    text = BASE + "subscribers:\n  - name: Desk\n    email: d@example.org\n    countries: [tr, In, NO, xx]\n" + EMAIL
    assert load(tmp_path, text).subscribers[0].countries == ["TR", "IN", "NO", "XX"]


def test_relative_paths_are_resolved_against_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    (folder / "mytemplates").mkdir(parents=True)
    path = write(folder, BASE.replace("presswatch.db", "data/pw.db") + "templates: mytemplates\n")
    config = load_config(path, ENV)
    assert config.database == folder / "data" / "pw.db"
    assert config.templates == folder / "mytemplates"


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    config = load(tmp_path, BASE.replace("presswatch.db", str(tmp_path / "abs.db")))
    assert config.database == tmp_path / "abs.db"


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load(tmp_path, BASE)
    with pytest.raises(ValidationError):
        config.x.poll_interval = 5  # type: ignore[misc]


def test_cross_checks_also_guard_direct_construction() -> None:
    data = {
        "version": 1,
        "database": "a.db",
        "x": {"bearer_token": "t", "timeout": "never"},
        "watchlist": [{"handle": "a"}, {"handle": "A"}],
    }
    with pytest.raises(ValidationError) as caught:
        Config.model_validate(data)
    assert [error["loc"] for error in caught.value.errors()] == [("x", "timeout"), ("watchlist", 1, "handle")]


def test_email_from_can_be_set_by_field_name() -> None:
    config = Config.model_validate(
        {
            "version": 1,
            "database": "a.db",
            "x": {"bearer_token": "t"},
            "watchlist": [],
            "email": {"host": "h", "from_": "a@example.org"},
        }
    )
    assert config.email is not None and config.email.from_ == "a@example.org"


def test_a_problem_is_always_one_line() -> None:
    problem = Problem('bad\x1b[31m"key', "found\nBcc: x\u2028", 3)
    assert str(problem) == 'bad\\x1b[31m"key: found\\nBcc: x\\u2028 (line 3)'


def test_nesting_up_to_64_levels_is_read_and_deeper_is_refused() -> None:
    data, _, _ = parse_yaml("x: " + "[" * 63 + "]" * 63)
    assert data is not None
    with pytest.raises(ConfigError, match=r"nested deeper than 64 levels \(line 1\)"):
        parse_yaml("x: " + "[" * 64 + "]" * 64)


def test_a_file_over_1_mib_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + "#" * MAX_BYTES + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, ENV)
    assert str(caught.value) == "(file): the file is larger than 1 MiB: a config file is a few kilobytes"


def test_bytes_that_are_not_utf8_are_named_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(BASE.encode() + b"subscribers:\n  - name: caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, ENV)
    assert str(caught.value) == "(file): the file is not UTF-8 text (byte 0xE9) (line 8)"


def test_a_number_in_a_text_field_keeps_how_it_was_written(tmp_path: Path) -> None:
    text = BASE.replace("handle: MahirZeynalov", "handle: 0x10\n    tags: [010, 1_000]") + EMAIL + (
        "subscribers:\n  - name: 1:30\n    email: a@example.org\n"
    )
    config = load(tmp_path, text)
    assert (config.watchlist[0].handle, config.watchlist[0].tags) == ("0x10", ["010", "1_000"])
    assert config.subscribers[0].name == "1:30"


def test_a_date_like_value_is_text(tmp_path: Path) -> None:
    assert load(tmp_path, BASE.replace("presswatch.db", "2021-02-31")).database.name == "2021-02-31"


def test_whole_numbers_may_come_from_env_vars_as_digits(tmp_path: Path) -> None:
    text = BASE + TG + "  admins: ['42']\n" + EMAIL + "  port: ${PORT}\n" + (
        "subscribers:\n  - name: Group\n    telegram_chat: ${CHAT}\n"
    )
    config = load(tmp_path, text, {**ENV, "PORT": "2525", "CHAT": "-1001234567890"})
    assert config.telegram is not None and config.telegram.admins == [42]
    assert config.email is not None and config.email.port == 2525
    assert config.subscribers[0].telegram_chat == -1001234567890


def test_an_operator_may_share_a_chat_or_an_address_with_a_subscriber(tmp_path: Path) -> None:
    text = RECIPIENTS + "operators:\n  - telegram_chat: -1001\n  - email: Desk@example.org\n"
    config = load(tmp_path, text)
    assert [operator.telegram_chat for operator in config.operators] == [-1001, None]


@pytest.mark.parametrize(
    "value", ['"Press, Desk" <alerts@example.org>', "Zoë <zoe@example.org>", "<alerts@example.org>", "a@example.org"]
)
def test_a_sender_may_be_any_one_mailbox(tmp_path: Path, value: str) -> None:
    config = load(tmp_path, BASE + sender(f"'{value}'"))
    assert config.email is not None and config.email.from_ == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (WrittenInt(600, "10:00"), "'10:00' is not a duration"),
        (WrittenInt(16, "0x10"), "'0x10' is not a duration"),
        ("99999999999d", "'99999999999d' is longer than 100 years"),
    ],
)
def test_durations_are_read_as_written(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_duration(value)
