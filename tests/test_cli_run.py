"""`presswatch run` as a real process: one daemon per database, read commands beside it, and Ctrl-C or
SIGTERM at any point of its life: a quiet exit 0, and a second one that does not wait."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e import WAIT, Daemon, cycles, presswatch, write_config

from bot.sandbox.x_api import XSandbox

ACCOUNTS = ["calm_one", "withheld_one"]


@pytest.fixture
def config(x_sandbox: XSandbox, tmp_path: Path) -> Path:
    for handle in ACCOUNTS:
        x_sandbox.add_account(handle)
    # A long X timeout: a request the sandbox holds stays in flight for the whole test.
    return write_config(tmp_path, x_url=x_sandbox.base_url, watchlist=[{"handle": h} for h in ACCOUNTS],
                        extra={"x": {"timeout": 120}})


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll ``condition`` (a process's state seen from outside: no event to wait on) until true, bounded."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def proc(daemon: Daemon) -> subprocess.Popen[bytes]:
    assert daemon.proc is not None
    return daemon.proc


def lock_holder(config: Path) -> str:
    lock = config.parent / "presswatch.db.lock"
    return lock.read_text().strip() if lock.exists() else ""


def test_a_second_run_on_one_database_is_refused_and_reads_still_work(x_sandbox: XSandbox, config: Path) -> None:
    x = x_sandbox
    with Daemon(config) as first:
        cycles(x, 2)
        second = presswatch("run", config=config, timeout=WAIT)
        assert second.returncode == 2, second.stderr
        database = config.parent / "presswatch.db"
        assert second.stderr.strip().splitlines() == [
            f"database: {database} is in use by presswatch (pid {proc(first).pid}): one `presswatch run` per"
            " database; stop that one first or give this config its own (line 2)"]
        # The read commands open the live WAL database read-only, beside the daemon.
        x.set_withheld("withheld_one", ["TR"])
        cycles(x, 3)
        history = presswatch("history", "--json", config=config)
        assert history.returncode == 0, history.stderr
        assert [(r["handle"], r["kind"]) for r in json.loads(history.stdout)] == [("withheld_one", "withheld")]
        check = presswatch("check", "--json", config=config)
        assert check.returncode == 0, check.stderr
        assert [r["withheld_in"] for r in json.loads(check.stdout)] == [[], ["TR"]]
        first.kill()  # kill -9: the lock dies with the process
    with Daemon(config) as third:
        cycles(x, 2)
        assert lock_holder(config) == str(proc(third).pid)
        assert third.stop() == 0
    assert "Traceback" not in third.output()


def in_imports(daemon: Daemon) -> bool:
    """The process is importing the CLI's modules (pydantic's compiled core is being loaded)."""
    try:
        return "pydantic_core" in Path(f"/proc/{proc(daemon).pid}/maps").read_text()
    except OSError:
        return False


POINTS: dict[str, Callable[[Daemon], bool]] = {
    "importing": in_imports,
    "starting": lambda d: lock_holder(d.config) == str(proc(d).pid),
    "running": lambda d: "presswatch running" in d.output(),
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("point", list(POINTS))
def test_a_stop_signal_at_any_point_of_start_up_exits_0_quietly(config: Path, point: str, sig: int) -> None:
    with Daemon(config) as daemon:
        wait_until(lambda: POINTS[point](daemon), point)
        proc(daemon).send_signal(sig)
        assert proc(daemon).wait(WAIT) == 0, daemon.output()
    assert "Traceback" not in daemon.output()


def test_a_second_ctrl_c_while_stopping_exits_0_at_once(x_sandbox: XSandbox, config: Path) -> None:
    x = x_sandbox
    with Daemon(config) as daemon:
        cycles(x, 1)
        x.pause()
        assert x.wait_for_held(1, WAIT)  # a poll in flight, answered in 120 s (its timeout) or never
        proc(daemon).send_signal(signal.SIGINT)
        wait_until(lambda: "stopping after what is being sent" in daemon.output(), "the graceful stop")
        proc(daemon).send_signal(signal.SIGINT)
        assert proc(daemon).wait(WAIT) == 0, daemon.output()
        assert x.held == 1  # it did not wait for the request
    counted = x.request_count
    x.resume()  # the held request is answered to no one, and only then counted: wait for it, or the
    assert x.wait_for_requests(counted + 1, WAIT)  # next daemon's first poll would seem to have come
    log = daemon.output()
    assert "SIGINT: stopping now; messages in flight will be sent again at the next start" in log
    assert "Traceback" not in log
    with Daemon(config) as again:  # nothing left behind: the lock went with the process
        cycles(x, 1)
        assert again.stop() == 0
