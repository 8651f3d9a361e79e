"""Hot reload: `run` reads its config file again on SIGHUP and when the file changes on disk, validates the new
version in full and applies it to the running App (bot.daemon.live), or refuses it and changes nothing.

Watching is a stat of the path every POLL seconds, (device, inode, size, mtime): an editor's save-by-rename
is a new inode at the same path, a write in place a new size or mtime, a Kubernetes ConfigMap's symlink
swap a new target (stat follows links). A stat a second costs nothing and needs no library; inotify (what
watchfiles would bring) must watch the folder to see a rename, and is blind on network filesystems and
some container mounts. A change is read once the file has stood still for one look, so a save caught
half-written is not reported as a broken config: a good save is applied within about 2 * POLL seconds.

A version refused (invalid, or changing a key that needs a restart) is logged, each problem one line
`path: message (line N)`; the operators are told once per version (its bytes' digest) while no good one
came since, and once when a good version is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config.live import Version, read_version, restart_only
from bot.config.model import Config
from bot.config.reader import Problem
from bot.daemon.live import apply_config, new_lanes
from bot.daemon.supervise import supervise
from bot.models import NoticeKind
from bot.said import N_, Said
from bot.storage.guard import is_storage_error
from bot.text import iso

if TYPE_CHECKING:
    from bot.daemon.app import App

log = logging.getLogger("presswatch.reload")
POLL = 0.5  # seconds between two looks at the file
Signature = tuple[int, int, int, int] | None  # (device, inode, size, mtime in ns); None: no file there


def signature(path: Path) -> Signature:
    """What a change of the file changes; None when nothing is at the path (mid-rename, deleted)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def changed_sections(old: Config, new: Config) -> list[str]:
    """The top-level keys whose value differs, for the log line of a version applied."""
    return [name for name in type(new).model_fields if getattr(old, name) != getattr(new, name)]


class Reloader:
    """Reads the config file again when asked (``request``: SIGHUP) or when it changed, until stopped."""

    def __init__(self, app: App, path: Path, *, poll: float = POLL) -> None:
        self.app = app
        self.path = path
        self.poll = poll
        self.applied_at = app.clock()  # when the running version was applied (at start, first)
        self._asked = asyncio.Event()
        self._told: set[str] = set()  # digests of the refused versions the operators were told about
        self._broken = False  # a version was refused since the last good one
        self._again = False  # the last look failed on the database: look again at the next turn

    def request(self) -> None:
        """Read the file again now (SIGHUP), even if it looks unchanged."""
        self._asked.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Watch the file until ``stop``. Starts with a look: an edit since the start's read is applied."""
        seen, settling = signature(self.path), False
        self.check("at start")
        while not stop.is_set():
            asked = await self._pause()
            now = signature(self.path)
            if asked:
                seen, settling = now, False
                self.check("on SIGHUP")
            elif now != seen:  # changing: read it once it stands still for a look
                seen, settling = now, True
            elif settling or self._again:
                settling = False
                self.check("after a change on disk")

    async def _pause(self) -> bool:
        """Wait one look's time; True when a reload was asked meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._asked.wait(), self.poll)
        asked = self._asked.is_set()
        self._asked.clear()
        return asked

    def check(self, why: str) -> None:
        """Read the file; apply it, or refuse it with every reason. Never raises for a storage error."""
        self._again = False
        version = read_version(self.path)
        try:
            self._check(version, why)
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            self.app.guard.failed(exc, self.app.clock(), "applying the config file")
            self._again = True  # the same version is tried again: nothing of it was applied

    def _check(self, version: Version, why: str) -> None:
        running = self.app.config
        if version.config is None:
            return self._refuse(version, list(version.problems), why)
        lanes = [lane.key for lane in self.app.lanes]
        if refused := restart_only(running, version.config, version.lines) + new_lanes(
                lanes, version.config, version.lines):
            return self._refuse(version, refused, why)
        if version.config == running:
            log.info("%s: read %s: nothing to apply", self.path, why)
        else:
            sections = changed_sections(running, version.config)
            apply_config(self.app, version.config)
            self.applied_at = self.app.clock()
            log.info("%s: applied %s (changed: %s)", self.path, why, ", ".join(sections))
            self.app._log_plan()
        if self._broken:
            self._broken = False
            self._told.clear()  # a refused version saved again later is news again
            self.app.outbox.notify_operators(
                NoticeKind.RECOVERED, Said(N_("{name} is valid again and in use"), name=self.path.name),
                Said(N_("{path} was read {why}: presswatch uses it from now on."), path=self.path, why=why),
                self.app.clock())
            self.app.dispatcher.wake()
        return None

    def _refuse(self, version: Version, problems: list[Problem], why: str) -> None:
        """Log every problem; tell the operators once per version."""
        kept = f"presswatch goes on with the version applied at {iso(self.applied_at)}"
        count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        log.warning("%s: read %s: not applied (%s); %s", self.path, why, count, kept)
        for problem in problems:
            log.warning("%s", problem)
        if version.digest in self._told:
            return
        lines = "\n".join(f"- {problem}" for problem in problems)
        self.app.outbox.notify_operators(
            NoticeKind.CONFIG_NOT_APPLIED,
            Said(N_("{name}: problems found: {count}; the running version is kept"), name=self.path.name,
                 count=len(problems)),
            Said(N_("{path}, read {why}:\n{lines}\nNothing of this version was applied: presswatch goes on with"
                    " the version applied at {applied}."), path=self.path, why=why, lines=lines,
                 applied=iso(self.applied_at)),
            self.app.clock())
        self._told.add(version.digest)
        self._broken = True
        self.app.dispatcher.wake()


async def run_with_reload(app: App, reloader: Reloader, stop: asyncio.Event) -> None:
    """Start the App, watch its config beside it until ``stop``, then stop both (the watcher first)."""
    watching: asyncio.Task[None] | None = None
    try:
        await app.start(stop)
        if stop.is_set():
            return
        watching = asyncio.create_task(supervise(
            "config watcher", lambda: reloader.run(stop), stop, on_restart=app._restarted), name="config")
        await stop.wait()
    finally:
        if watching is not None:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watching
        await app.stop()
