"""The web's reads, off the daemon's event loop: worker threads, each with its own read-only connection, and
a cache of answers that holds until the database changes.

A page over 10,000 accounts and 100,000 transitions takes tens of milliseconds to build; built on the loop
it would hold up the polls and the dispatcher, and built for every request it would be built thousands of
times over for one change. So answers are built in a worker thread and kept until SQLite's ``data_version``
says another connection (the daemon's) committed something.
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

    ``connect`` opens one read-only database per worker thread.
    """

    def __init__(self, connect: Callable[[], Database], *, workers: int = WORKERS, size: int = CACHE_SIZE) -> None:
        self._connect = connect
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="web-reader")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._generation = 0
        self._size = size
        self._cache: OrderedDict[Hashable, tuple[int, object]] = OrderedDict()

    async def run(self, fn: Callable[[PublicView], T]) -> T:
        """``fn(view)`` in a worker thread, uncached."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, lambda: fn(self.view()))

    async def cached(self, key: Hashable, fn: Callable[[PublicView], T]) -> T:
        """``fn(view)``'s result for ``key``, built in a worker thread once per change of the database."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._cached, key, fn)

    def view(self) -> PublicView:
        """This worker thread's view; a commit by another connection since its last call empties the cache."""
        view: PublicView | None = getattr(self._local, "view", None)
        if view is None:
            view = self._local.view = PublicView(self._connect())
            self._local.version = None
        version = view.data_version()
        if version != self._local.version:
            self._local.version = version
            with self._lock:
                self._generation += 1
                self._cache.clear()
        return view

    def _cached(self, key: Hashable, fn: Callable[[PublicView], T]) -> T:
        view = self.view()
        with self._lock:
            generation = self._generation
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit[1]  # type: ignore[return-value]
        value = fn(view)
        with self._lock:
            # Built while another thread saw the data change: it may be older than the cache now is.
            if generation == self._generation:
                self._cache[key] = (generation, value)
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        return value

    def close(self) -> None:
        """Wait for the reads under way; each thread's connection closes with its thread."""
        self._pool.shutdown(wait=True)
