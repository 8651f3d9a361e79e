"""Hot reload and the Bluesky and Mastodon lanes: a lane is built at start, so what would need a new one, or
change one's connection or budget, is refused by name until a restart; accounts on a running lane apply live."""

from __future__ import annotations

from pathlib import Path

from test_config import BASE, ENV, write

from bot.config.live import RESTART, read_version, restart_only
from bot.config.model import Config, Problem
from bot.daemon.live import new_lanes

SOCIAL = "bluesky: {}\nmastodon: {}\n"
PERSON = "  - name: Ayşe\n    bluesky: ayse.bsky.social\n"


def config(tmp_path: Path, text: str) -> tuple[Config, dict[tuple[str | int, ...], int]]:
    version = read_version(write(tmp_path, text), ENV)
    assert version.config is not None, version.problems
    return version.config, version.lines


def test_an_account_on_an_instance_without_a_lane_is_refused_and_one_on_a_running_lane_is_not(tmp_path: Path) -> None:
    added, lines = config(tmp_path, SOCIAL + BASE + PERSON + "  - mastodon: kemal@kolektiva.social\n")
    assert new_lanes(["bluesky"], added, lines) == [Problem(
        "watchlist", f"accounts on Mastodon (kolektiva.social), which this daemon has no lane for: {RESTART}", 7)]
    assert new_lanes(["bluesky", "mastodon:kolektiva.social"], added, lines) == []
    fewer, lines = config(tmp_path, SOCIAL + BASE)  # a lane left with no account polls nothing: no restart
    assert new_lanes(["bluesky", "mastodon:kolektiva.social"], fewer, lines) == []


def test_the_bluesky_and_mastodon_sections_need_a_restart(tmp_path: Path) -> None:
    running, _ = config(tmp_path, SOCIAL + BASE + PERSON)
    budget = "bluesky:\n  rate_limit: {requests: 100, per: 5m}\nmastodon: {}\n"
    changed, lines = config(tmp_path, budget + BASE + PERSON)
    assert restart_only(running, changed, lines) == [Problem("bluesky.rate_limit.requests", RESTART, 2)]
