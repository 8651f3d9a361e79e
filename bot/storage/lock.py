"""One daemon per database: an OS file lock on ``<database>.lock``, which dies with the process holding it."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


class LockHeld(Exception):
    """Another live process holds the database's lock; ``pid`` is its process id when it wrote one."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path, self.pid = path, pid
        super().__init__(f"{path} is held by process {pid}" if pid else f"{path} is held by another process")


def lock_path(database: Path) -> Path:
    """The lock file beside the real database file (through symlinks: every path to it shares one lock)."""
    real = database.resolve()
    return real.with_name(real.name + ".lock")


class DaemonLock:
    """An exclusive ``flock`` held until ``release`` or the end of the process (a crash or kill -9 included).

    The file itself stays behind on purpose: deleting a lock file lets a third process lock a new file
    while a second still waits on the old one. Only the lock means anything; the pid in the file is
    for the message of whoever is refused.
    """

    def __init__(self, database: Path) -> None:
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self) -> DaemonLock:
        """Take the lock without waiting; LockHeld when a live process has it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise LockHeld(self.path, pid) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor releases the flock
            self._fd = None

    def __enter__(self) -> DaemonLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    """The pid the holder wrote, or None (it may be between taking the lock and writing it)."""
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None
