"""`presswatch import --apply` and `remove` beside a running `presswatch run`: the daemon polls the new accounts
from its next cycle without a restart (their first poll a baseline), alerts name the list they came from, and
removed accounts stop being polled and alerted."""

from __future__ import annotations

import json
from pathlib import Path

from e2e import WAIT, Daemon, cycles, db_rows, presswatch, wait_until, write_config

from bot.sandbox.mail import MailSink
from bot.sandbox.x_api import XSandbox

COURT_ORDER = Path(__file__).parent / "data" / "court_order.txt"
ORDER = "Court order 2016/1234"
IMPORTED = ["MahirZeynalov", "ErisimEngeli", "basin_ozgur", "GazeteciAhmet", "eski_hesap", "haber_ajansi",
            "KisanEktaMorcha", "Tractor2twitr", "kisan_vani"]
DESK = "desk@rights.test"


def baselined(config: Path) -> set[str]:
    """The watched accounts whose first poll is recorded."""
    rows = db_rows(config, "SELECT handle FROM accounts WHERE watched = 1 AND availability IS NOT NULL")
    return {row["handle"] for row in rows}


def asked_since(x: XSandbox, start: int) -> set[str]:
    """Every id and handle the daemon asked X for in the requests from ``start`` on."""
    return {key.casefold() for r in x.requests[start:] for value in r.query.values() for key in value.split(",")}


def test_a_running_daemon_polls_an_import_from_its_next_cycle_and_stops_after_a_remove(
        x_sandbox: XSandbox, mail_sink: MailSink, tmp_path: Path) -> None:
    x = x_sandbox
    for handle in ["sansur_izleme", *IMPORTED]:
        x.add_account(handle)
    x.set_withheld("MahirZeynalov", ["TR"])  # withheld already when it is imported: a baseline, not news
    config = write_config(tmp_path, x_url=x.base_url, smtp_port=mail_sink.port,
                          watchlist=[{"handle": "sansur_izleme"}], subscribers=[{"name": "Desk", "email": DESK}])
    with Daemon(config) as daemon:
        cycles(x, 2)  # the second request started: the first poll is committed
        assert baselined(config) == {"sansur_izleme"}
        result = presswatch("import", str(COURT_ORDER), "--source", ORDER, "--apply", "--json", config=config)
        assert result.returncode == 1, result.stderr  # the list's invalid entries are named
        assert [r["handle"] for r in json.loads(result.stdout) if r["status"] == "added"] == IMPORTED
        wait_until(lambda: baselined(config) == {"sansur_izleme", *IMPORTED}, what="the imported accounts' baseline")
        assert db_rows(config, "SELECT * FROM transitions") == []

        x.suspend("basin_ozgur")
        assert mail_sink.wait_for(1, WAIT), "the suspension of an imported account is alerted"
        [mail] = mail_sink.messages
        assert (mail["To"], mail["Subject"]) == (DESK, "[presswatch] @basin_ozgur suspended")
        assert f"Listed in: {ORDER}\r\n" in mail.get_body(("plain",)).get_content()  # SMTP lines end in CRLF

        undo = presswatch("remove", "--source", ORDER, config=config)
        assert undo.returncode == 0, undo.stderr
        # The cycle on the wire when the removal landed may still ask for them; the next ones do not.
        removed = {name.casefold() for name in IMPORTED} | {x.account(h)["id"] for h in IMPORTED}
        wait_until(lambda: x.requests and not asked_since(x, len(x.requests) - 1) & removed,
                   what="a poll without the removed accounts")
        start = len(x.requests)
        x.unsuspend("basin_ozgur")
        x.set_withheld("ErisimEngeli", ["TR"])
        x.set_withheld("sansur_izleme", ["TR"])  # still watched: this one is alerted
        assert mail_sink.wait_for(2, WAIT)
        assert not asked_since(x, start) & removed
        assert daemon.stop() == 0
    assert [str(m["Subject"]) for m in mail_sink.messages] == [
        "[presswatch] @basin_ozgur suspended", "[presswatch] @sansur_izleme withheld in Turkey (TR)"]
    kinds = db_rows(config, "SELECT a.handle, t.kind FROM transitions t JOIN accounts a ON a.pk = t.account_pk")
    assert [(r["handle"], r["kind"]) for r in kinds] == [("basin_ozgur", "suspended"), ("sansur_izleme", "withheld")]
    assert "Traceback" not in daemon.output()
