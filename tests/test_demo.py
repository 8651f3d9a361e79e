"""bot.tools.demo: the scripted demo's narration, and `presswatch demo` as a real process."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from rich.console import Console

from bot.tools.demo import Demo
from tests.helpers_core import FakeMonotonic


def test_the_narration_is_stamped_on_the_clock_it_is_given() -> None:
    fake = FakeMonotonic()
    demo = Demo(Console(file=io.StringIO()), interval=0.2, monotonic=fake.monotonic)
    assert demo.stamp() == "[dim]  0.0s[/]"
    fake.now += 12.34
    assert demo.stamp() == "[dim] 12.3s[/]"


def test_the_demo_plays_both_cases_and_every_change_is_alerted_once() -> None:
    """`python -m bot demo --fast` as a user runs it: the config it writes loads, and the pipeline delivers
    (X, Bluesky and Mastodon alike)."""
    result = subprocess.run([sys.executable, "-m", "bot", "demo", "--fast"], capture_output=True, text=True,
                            env=os.environ | {"COLUMNS": "200"}, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Recorded: 1 renamed, 2 suspended, 6 unwithheld, 8 withheld" in result.stdout
    assert "Delivered: 20 Telegram messages (20 seen by the Bot API sandbox), 16 emails (16 seen by the mail " \
           "sink), 5 webhook posts (5 seen by the webhook sink), 0 operator alerts" in result.stdout
    assert "IPI Türkiye (Telegram, in Turkish): [presswatch] @MahirZeynalov şu ülkelerde erişime engellendi: " \
           "Türkiye (TR)" in result.stdout
    assert "@mahirzeynalov.bsky.social hidden in Turkey (TR) on Bluesky" in result.stdout
    assert "@delhi_reporter@mastodon.social suspended on Mastodon" in result.stdout
    assert "demo finished: every change alerted once, no false alarm" in result.stdout
