"""Ctrl-C and SIGTERM for the CLI: quiet while it starts, graceful once, immediate the second time; SIGHUP: reload.

Standard library only: the CLI imports this before anything slow, so that a signal during its imports
is already handled.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import asyncio
    import logging
    from collections.abc import Callable

STOP = (signal.SIGINT, signal.SIGTERM)


class StartupShield:
    """Holds SIGINT and SIGTERM while the CLI's modules import; a stop asked meanwhile exits 0 afterwards.
    SIGHUP is ignored meanwhile (by default it would end the process; `run` has not read its config yet).

    Recording instead of raising lets the imports finish (a KeyboardInterrupt in the middle of one is a
    traceback from deep inside a library). Only a program that left the signals at Python's defaults
    is shielded: an embedding program (a test runner) keeps its own handlers.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[signal.Signals, Any] = {}

    def hold(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return
        for sig in STOP:
            self._previous[sig] = signal.signal(sig, self._record)
        if hasattr(signal, "SIGHUP"):  # a reload asked before the config is even read: nothing to do
            self._previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum

    def release(self) -> None:
        """Restore the handlers; SystemExit(0) when a stop was asked while held."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        if self.received is not None:
            raise SystemExit(0)


class StopSignals:
    """The daemon's SIGINT and SIGTERM, for the whole life of `presswatch run`.

    Before the event loop runs, the first one unwinds the start-up (KeyboardInterrupt: nothing runs
    yet). While it runs, the first one sets the stop event: the daemon finishes what it is sending and
    exits 0. A second one, or one after the loop has closed, exits 0 at once: the messages then in
    flight stay marked in flight in the outbox, and the next start sends them again.

    Python-level handlers rather than ``loop.add_signal_handler``: they run even while the loop is
    stuck in a blocking call, which is when a second Ctrl-C is pressed.
    """

    def __init__(self) -> None:
        self.count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._loop_done = False

    def install(self) -> None:
        for sig in STOP:
            signal.signal(sig, self._handle)

    def attach(self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
        """The loop runs: from now on the first signal sets ``stop`` (from inside the loop)."""
        self._loop, self._stop = loop, stop

    def detach(self) -> None:
        """The loop has ended: any signal from now on exits at once."""
        self._loop, self._loop_done = None, True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count > 1 or self._loop_done:
            self.exit_now(signum)
        if self._loop is None:
            raise KeyboardInterrupt
        try:
            self._loop.call_soon_threadsafe(self._stopping, signum)
        except RuntimeError:  # the loop closed a moment ago
            self.exit_now(signum)

    def _stopping(self, signum: int) -> None:
        _log().info("%s: stopping after what is being sent (send it again to stop at once)", _name(signum))
        assert self._stop is not None
        self._stop.set()

    @staticmethod
    def exit_now(signum: int) -> NoReturn:
        """Exit 0 without waiting for anything (threads, requests in flight)."""
        _log().warning("%s: stopping now; messages in flight will be sent again at the next start", _name(signum))
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(0)  # SQLite's WAL keeps the database whole; the OS releases the daemon's lock


class HangUps:
    """SIGHUP, for `presswatch run`: read the config file again (systemd's ExecReload sends it).

    Caught from the start (Python's default would end the daemon); once the daemon's reloader runs, each
    one asks it to read the file. One that comes before is not lost: the reloader reads the file first.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reload: Callable[[], None] | None = None

    def install(self) -> None:
        if hasattr(signal, "SIGHUP"):  # not on Windows
            signal.signal(signal.SIGHUP, self._handle)

    def attach(self, loop: asyncio.AbstractEventLoop, reload: Callable[[], None]) -> None:
        self._loop, self._reload = loop, reload

    def detach(self) -> None:
        self._loop = self._reload = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._loop is None or self._reload is None:
            return
        try:
            self._loop.call_soon_threadsafe(self._reload)
        except RuntimeError:  # the loop closed a moment ago: the daemon is stopping
            pass


def _name(signum: int) -> str:
    return signal.Signals(signum).name


def _log() -> logging.Logger:
    import logging  # here, not at the top: this module loads before the CLI's imports, so it loads little

    return logging.getLogger("presswatch.cli")
