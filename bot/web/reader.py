"""The web's reads, off the daemon's event loop: worker threads, each with its own read-only connection, and
a cache of answers that holds until the database changes.

A page over 10,000 accounts and 100,000 transitions takes tens of milliseconds to build; built on the loop
it would hold up the polls and the dispatcher, and built for every request it would be built thousands of
times over for one change. So answers are built in a worker thread and kept until SQLite's ``data_version``
says another connection (the daemon's) committed something. One connection, shared under a lock, asks it
for every thread: each thread asking its own would see each change once for each of them. Every poll
commits, so an answer is rebuilt in the background while the one before is still served.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from sqlite_utils import Database

from bot.storage.public import PublicView

log = logging.getLogger("presswatch.web")
T = TypeVar("T")
WORKERS = 2
CACHE_SIZE = 256  # answers kept (the query string is part of a key: bounded, oldest dropped first)


class Reader:
    """Runs functions of a PublicView in worker threads; ``cached`` keeps their results until the data changes.

    ``connect(shared)`` opens a read-only database: one per worker thread, and one shared (any thread may
    use it) that only tells whether the data changed. An answer the data has moved past is still served
    while one worker builds its successor (stale-while-revalidate: a page may lag the database by one
    build); requests for an answer never built wait for the one build under way, never start their own.
    """

    def __init__(self, connect: Callable[[bool], Database], *, workers: int = WORKERS,
                 size: int = CACHE_SIZE) -> None:
        self._connect = connect
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="web-reader")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._probe: PublicView | None = None  # asks data_version, under the lock
        self._version: int | None = None
        self._generation = 0  # moves each time the probe sees another connection's commit
        self._size = size
        self._cache: OrderedDict[Hashable, tuple[int, object]] = OrderedDict()
        self._building: dict[Hashable, Future[object]] = {}  # first builds, each by a running worker
        self._refreshing: set[Hashable] = set()  # rebuilds of stale answers, queued or running

    async def run(self, fn: Callable[[PublicView], T]) -> T:
        """``fn(view)`` in a worker thread, uncached."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, lambda: fn(self.view()))

    async def cached(self, key: Hashable, fn: Callable[[PublicView], T]) -> T:
        """``fn(view)``'s result for ``key``: built in a worker thread once per change of the database."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._cached, key, fn)

    def view(self) -> PublicView:
        """This worker thread's view (its own connection)."""
        view: PublicView | None = getattr(self._local, "view", None)
        if view is None:
            view = self._local.view = PublicView(self._connect(False))
        return view

    def _current(self) -> int:
        """The data's generation (call it under the lock)."""
        if self._probe is None:
            self._probe = PublicView(self._connect(True))
        version = self._probe.data_version()
        if version != self._version:
            self._version = version
            self._generation += 1
        return self._generation

    def _cached(self, key: Hashable, fn: Callable[[PublicView], T]) -> T:
        with self._lock:
            generation = self._current()
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
                if entry[0] != generation and key not in self._refreshing:
                    self._refreshing.add(key)
                    self._pool.submit(self._refresh, key, fn, generation)
                return entry[1]  # type: ignore[return-value]
            under_way = self._building.get(key)
            if under_way is None:
                mine: Future[object] = Future()
                self._building[key] = mine
        if under_way is not None:
            return under_way.result()  # type: ignore[return-value]  # built by a running worker
        try:
            value = self._build(key, fn, generation)
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._building.pop(key, None)
        mine.set_result(value)
        return value

    def _refresh(self, key: Hashable, fn: Callable[[PublicView], T], generation: int) -> None:
        """Rebuild a stale answer in the background; a failure is logged, the stale answer stays."""
        try:
            self._build(key, fn, generation)
        except Exception:
            log.exception("the web server could not rebuild %r; the previous answer is still served", key)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _build(self, key: Hashable, fn: Callable[[PublicView], T], generation: int) -> T:
        """Build ``key``'s answer and keep it, marked with the generation it reads (at least)."""
        value = fn(self.view())  # it reads after ``generation`` was taken: its data is at least that new
        with self._lock:
            kept = self._cache.get(key)
            if kept is None or kept[0] <= generation:
                self._cache[key] = (generation, value)
                self._cache.move_to_end(key)
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
