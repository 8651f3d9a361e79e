"""bot.tools.demo: the scripted demo's narration, and `presswatch demo` as a real process."""

from __future__ import annotations

import io

from rich.console import Console

from bot.tools.demo import Demo
from tests.helpers_core import FakeMonotonic


def test_the_narration_is_stamped_on_the_clock_it_is_given() -> None:
    fake = FakeMonotonic()
    demo = Demo(Console(file=io.StringIO()), interval=0.2, monotonic=fake.monotonic)
    assert demo.stamp() == "[dim]  0.0s[/]"
    fake.now += 12.34
    assert demo.stamp() == "[dim] 12.3s[/]"
