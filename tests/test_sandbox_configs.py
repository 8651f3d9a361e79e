"""bot.sandbox.configs: the config writer the demo and the tests share."""

from __future__ import annotations

from pathlib import Path

from bot.config.model import load_config
from bot.sandbox.configs import FAST_X, sandbox_config, write_config

ENV = {"X_BEARER_TOKEN": "x-secret-token", "TELEGRAM_BOT_TOKEN": "123456:tg-secret"}


def test_the_written_config_loads_and_keeps_its_secrets_as_references(tmp_path: Path) -> None:
    path = write_config(tmp_path, sandbox_config(
        x_url="http://127.0.0.1:1", watchlist=[{"handle": "MahirZeynalov", "tags": ["turkey"]}],
        tg_url="http://127.0.0.1:2/bot", smtp_port=2525, x=FAST_X, telegram={"commands": False},
        detection={"confirmations": 1}, operators=[{"name": "ops", "email": "ops@presswatch.test"}]))
    written = path.read_text()
    assert "${X_BEARER_TOKEN}" in written and "${TELEGRAM_BOT_TOKEN}" in written
    assert "x-secret-token" not in written and "tg-secret" not in written
    config = load_config(path, ENV)
    assert config.x.bearer_token.get_secret_value() == "x-secret-token"
    assert (config.x.api_base_url, config.x.timeout, config.detection.confirmations) == ("http://127.0.0.1:1", 1, 1)
    assert config.telegram is not None and not config.telegram.commands
    assert config.email is not None and (config.email.port, config.email.security) == (2525, "none")
    assert [entry.handle for entry in config.watchlist] == ["MahirZeynalov"] and config.operators[0].name == "ops"
    assert config.database == tmp_path / "presswatch.db"


def test_sections_without_a_sandbox_are_left_out(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, sandbox_config(x_url="http://127.0.0.1:1", watchlist=[])), ENV)
    assert config.telegram is None and config.email is None and config.watchlist == []
