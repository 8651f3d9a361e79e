"""The web's reads, off the daemon's event loop: worker threads, each with its own read-only connection, and
a cache of answers that holds until the database changes.

A page over 10,000 accounts and 100,000 transitions takes tens of milliseconds to build; built on the loop
it would hold up the polls and the dispatcher, and built for every request it would be built thousands of
times over for one change. So answers are built in a worker thread and kept until SQLite's ``data_version``
says another connection (the daemon's) committed something. One connection, shared under a lock, asks it
for every thread: each thread asking its own would empty the cache once for each of them.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlite_utils import Database

from bot.storage.public import PublicView

T = TypeVar("T")
WORKERS = 2
CACHE_SIZE = 256  # answers kept (the query string is part of a key: bounded, oldest dropped first)


class Reader:
    """Runs functions of a PublicView in worker threads; ``cached`` keeps their results until the data changes.

    ``connect(shared)`` opens a read-only database: one per worker thread, and one shared (any thread may
    use it) that only tells whether the data changed.
    """

    def __init__(self, connect: Callable[[bool], Database], *, workers: int = WORKERS,
                 size: int = CACHE_SIZE) -> None:
        self._connect = connect
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="web-reader")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._probe: PublicView | None = None  # asks data_version, under the lock
        self._generation: int | None = None
        self._size = size
        self._cache: OrderedDict[Hashable, tuple[int, object]] = OrderedDict()

    async def run(self, fn: Callable[[PublicView], T]) -> T:
        """``fn(view)`` in a worker thread, uncached."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, lambda: fn(self.view()))

    async def cached(self, key: Hashable, fn: Callable[[PublicView], T]) -> T:
        """``fn(view)``'s result for ``key``, built in a worker thread once per change of the database."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._cached, key, fn)

    def view(self) -> PublicView:
        """This worker thread's view (its own connection)."""
        view: PublicView | None = getattr(self._local, "view", None)
        if view is None:
            view = self._local.view = PublicView(self._connect(False))
        return view

    def _changed(self) -> int:
        """The data's generation, the cache emptied first if another connection committed since last asked.

        Call it under the lock.
        """
        if self._probe is None:
            self._probe = PublicView(self._connect(True))
        version = self._probe.data_version()
        if version != self._generation:
            self._generation = version
            self._cache.clear()
        return version

    def _cached(self, key: Hashable, fn: Callable[[PublicView], T]) -> T:
        view = self.view()
        with self._lock:
            generation = self._changed()
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit[1]  # type: ignore[return-value]
        value = fn(view)  # it reads after the check: its data is at least as new as ``generation``
        with self._lock:
            # Built while another thread saw the data change: it may be older than the cache now is.
            if generation == self._changed():
                self._cache[key] = (generation, value)
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        return value

    def close(self) -> None:
        """Wait for the reads under way; each thread's connection closes with its thread."""
        self._pool.shutdown(wait=True)
        with self._lock:
            if self._probe is not None:
                self._probe.db.close()
                self._probe = None
