"""Alerts end to end: `presswatch run` against the X and Telegram sandboxes and the mail sink."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from e2e import TG_TOKEN, WAIT, X_TOKEN, Daemon, cycles, db_rows, write_config

from bot.sandbox.mail import MailSink
from bot.sandbox.telegram_api import TelegramSandbox
from bot.sandbox.x_api import XSandbox

TR_GROUP, ALL_CHANNEL, PRIVATE, OPERATOR = -1001111, -1002222, 3333, 4444
HOSTILE = '<b>Ayşe</b> & "Co" ‏עברית 🙂 <script>x</script>'




def texts(tg: TelegramSandbox, chat: int) -> list[str]:
    """One entry per alert: a digest ("presswatch: 3 changes at once") is split into its lines."""
    alerts = []
    for message in tg.sent_to(chat):
        plain = message["plain"]
        if re.match(r"presswatch: \d+ changes at once", plain):
            alerts.extend(line for line in plain.splitlines()[1:] if line and line[0] in "🔴🟢🔵")
        else:
            alerts.append(plain)
    return alerts


@pytest.fixture
def setup(x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, mail_sink: MailSink, tmp_path: Path) -> Path:
    x_sandbox.add_account("tr_journo", name=HOSTILE)
    x_sandbox.add_account("in_journo", name="Delhi Reporter")
    x_sandbox.add_account("activist", name="Activist")
    tg_sandbox.add_chat(TR_GROUP, "supergroup", title="Turkey desk")
    tg_sandbox.add_chat(ALL_CHANNEL, "channel", title="All alerts")
    tg_sandbox.add_chat(PRIVATE, "private")
    tg_sandbox.add_chat(OPERATOR, "private")
    return write_config(
        tmp_path, x_url=x_sandbox.base_url, tg_url=tg_sandbox.base_url, smtp_port=mail_sink.port,
        watchlist=[{"handle": "tr_journo", "tags": ["journalist"]}, {"handle": "in_journo", "tags": ["journalist"]},
                   {"handle": "activist", "tags": ["activist"]}],
        subscribers=[
            {"name": "Turkey desk", "telegram_chat": TR_GROUP, "countries": ["TR"]},
            {"name": "All alerts", "telegram_chat": ALL_CHANNEL, "events": ["restricted", "restored", "other"]},
            {"name": "Journalists only", "telegram_chat": PRIVATE, "tags": ["journalist"], "events": ["restricted"]},
            {"name": "India desk", "email": "india@rights.test", "countries": ["IN"]},
        ],
        operators=[{"name": "ops", "telegram_chat": OPERATOR}],
    )


def test_each_transition_reaches_exactly_the_matching_subscribers_once(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, mail_sink: MailSink, setup: Path
) -> None:
    x, tg = x_sandbox, tg_sandbox
    with Daemon(setup) as daemon:
        cycles(x, 2)
        x.set_withheld("tr_journo", ["TR"])
        x.set_withheld("in_journo", ["IN"])
        x.suspend("activist")
        cycles(x, 3)
        x.set_withheld("in_journo", [])
        x.rename("activist", "activist2")  # a suspended account cannot be seen renamed; unsuspend it too
        x.unsuspend("activist2")
        cycles(x, 3)
        # tr_journo withheld (TR), in_journo withheld + unwithheld (IN), activist suspended + unsuspended
        # + renamed: the channel takes all 6, the Turkey group 3 (suspensions pass a country filter),
        # the journalists' chat their 2 restrictions. Changes confirmed in the same poll reach a chat
        # as one digest: 2 + 2 + 1 messages.
        assert tg.wait_for_messages(5, WAIT), tg.messages
        assert mail_sink.wait_for(4, WAIT)
        cycles(x, 2)
        assert daemon.stop() == 0

    assert len(texts(tg, ALL_CHANNEL)) == 6
    tr_group = texts(tg, TR_GROUP)
    assert len(tr_group) == 3 and sum("Turkey (TR)" in t for t in tr_group) == 1  # + suspended, unsuspended
    private = texts(tg, PRIVATE)
    assert len(private) == 2 and all("journo" in t for t in private)  # journalists' restrictions only
    assert len(tg.messages) == 5
    subjects = sorted(str(m["Subject"]) for m in mail_sink.messages)
    assert subjects == ["[presswatch] @activist suspended", "[presswatch] @activist2 no longer suspended",
                        "[presswatch] @in_journo no longer withheld in India (IN)",
                        "[presswatch] @in_journo withheld in India (IN)"]
    assert not tg.sent_to(OPERATOR), "no health alert for a healthy run"
    assert tg.rate_limited_count == 0
    sent = db_rows(setup, "SELECT transition_id, subscriber_id, count(*) AS n FROM outbox GROUP BY 1, 2")
    assert all(row["n"] == 1 for row in sent)
    assert db_rows(setup, "SELECT count(*) AS n FROM outbox WHERE status != 'sent'")[0]["n"] == 0


def test_a_display_name_full_of_html_arrives_intact_and_escaped(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, mail_sink: MailSink, setup: Path
) -> None:
    x, tg = x_sandbox, tg_sandbox
    with Daemon(setup) as daemon:
        cycles(x, 2)
        x.set_withheld("tr_journo", ["TR"])
        cycles(x, 3)
        assert tg.wait_for_replies(TR_GROUP, 1, WAIT)
        daemon.stop()
    [message] = tg.sent_to(TR_GROUP)
    assert message["parse_mode"].lower() == "html"
    assert "&lt;b&gt;Ayşe&lt;/b&gt; &amp;" in message["text"] and "&lt;script&gt;" in message["text"]
    assert HOSTILE in message["plain"], "Telegram shows the name exactly as the account holder wrote it"
    assert "<script>" not in message["text"]


def test_outages_of_telegram_and_smtp_deliver_everything_once_afterwards(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, mail_sink: MailSink, setup: Path
) -> None:
    x, tg = x_sandbox, tg_sandbox
    with Daemon(setup) as daemon:
        cycles(x, 2)
        tg.set_down(True)
        mail_sink.refuse_next(3, code=451)
        x.set_withheld("in_journo", ["IN"])
        x.set_withheld("tr_journo", ["TR"])
        cycles(x, 12)  # a few seconds of outage: several retries, backoff capped at retry_max (1 s here)
        assert db_rows(setup, "SELECT count(*) AS n FROM transitions")[0]["n"] == 2
        retried = db_rows(setup, "SELECT count(*) AS n FROM outbox WHERE attempts > 1 AND status != 'sent'")
        tg.set_down(False)
        assert tg.wait_for_messages(3, WAIT)  # channel, Turkey group, journalists' chat: digests of 2, 1, 2
        assert mail_sink.wait_for(1, WAIT)
        cycles(x, 3)
        assert daemon.stop() == 0
    assert retried[0]["n"] > 0, "the outage should have made deliveries retry"
    per_chat = Counter({chat: len(texts(tg, chat)) for chat in (ALL_CHANNEL, TR_GROUP, PRIVATE)})
    assert per_chat == Counter({ALL_CHANNEL: 2, TR_GROUP: 1, PRIVATE: 2})
    assert len(tg.messages) == 3
    assert len(mail_sink.messages) == 1
    assert db_rows(setup, "SELECT count(*) AS n FROM outbox WHERE status != 'sent'")[0]["n"] == 0


def test_a_blocked_bot_disables_only_that_subscriber_and_tells_the_operators(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, setup: Path
) -> None:
    x, tg = x_sandbox, tg_sandbox
    tg.block(PRIVATE)
    with Daemon(setup) as daemon:
        cycles(x, 2)
        x.set_withheld("tr_journo", ["TR"])
        cycles(x, 3)
        assert tg.wait_for_replies(OPERATOR, 1, WAIT)
        assert tg.wait_for_replies(ALL_CHANNEL, 1, WAIT) and tg.wait_for_replies(TR_GROUP, 1, WAIT)
        x.set_withheld("in_journo", ["IN"])
        cycles(x, 3)
        assert tg.wait_for_replies(ALL_CHANNEL, 2, WAIT)
        assert daemon.stop() == 0
    subs = {r["name"]: r for r in db_rows(setup, "SELECT name, enabled, disabled_reason FROM subscribers")}
    assert subs["Journalists only"]["enabled"] == 0 and "blocked" in subs["Journalists only"]["disabled_reason"]
    assert all(r["enabled"] for name, r in subs.items() if name != "Journalists only")
    [alert] = tg.sent_to(OPERATOR)
    assert "Journalists only" in alert["plain"] and "disabled" in alert["plain"]
    held = db_rows(setup, "SELECT s.name, count(*) AS n FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
                          " WHERE o.status = 'held' GROUP BY 1")
    # The alert that failed is kept for it (sent if it is enabled again); later ones are not queued for
    # a disabled subscriber: the operators know, and a re-enabled chat should not get a stale backlog.
    assert held == [{"name": "Journalists only", "n": 1}]


def test_kill_9_during_a_fan_out_loses_nothing_and_doubles_at_most_in_flight(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, tmp_path: Path
) -> None:
    x, tg = x_sandbox, tg_sandbox
    x.add_account("watched_one", name="Watched")
    chats = [10_000 + i for i in range(40)]
    for chat in chats:
        tg.add_chat(chat, "private")
    tg.overall_per_second = 10
    config = write_config(
        tmp_path, x_url=x.base_url, tg_url=tg.base_url, watchlist=[{"handle": "watched_one"}],
        subscribers=[{"name": f"chat {c}", "telegram_chat": c} for c in chats],
        extra={"telegram": {"rate_limit": {"overall_per_second": 10}}},
    )
    with Daemon(config) as first:
        cycles(x, 2)
        x.set_withheld("watched_one", ["TR"])
        cycles(x, 2)
        assert tg.wait_for_messages(10, WAIT)
        first.kill()
    delivered_before = len(tg.messages)
    with Daemon(config) as second:
        assert tg.wait_for_messages(len(chats), WAIT)
        cycles(x, 2)
        assert second.stop() == 0
    per_chat = Counter(m["chat_id"] for m in tg.messages)
    assert set(per_chat) == set(chats), "no alert lost"
    doubled = sum(n - 1 for n in per_chat.values())
    assert delivered_before < len(chats), "the kill should land mid fan-out"
    assert doubled <= 32, f"{doubled} doubled: more than could have been in flight"
    assert db_rows(config, "SELECT count(*) AS n FROM outbox WHERE status != 'sent'")[0]["n"] == 0


def test_the_daemon_answers_telegram_commands_and_never_logs_a_secret(
    x_sandbox: XSandbox, tg_sandbox: TelegramSandbox, tmp_path: Path
) -> None:
    x, tg = x_sandbox, tg_sandbox
    x.add_account("someone", name="Someone")
    config = write_config(tmp_path, x_url=x.base_url, tg_url=tg.base_url, watchlist=[{"handle": "someone"}],
                          extra={"telegram": {"commands": True}})
    with Daemon(config) as daemon:
        cycles(x, 2)
        tg.inject_message(555, "/status @someone", from_id=555)
        assert tg.wait_for_replies(555, 1, WAIT)
        x.fail_next("401")  # an error path that quotes X's answer
        cycles(x, 2)
        assert daemon.stop() == 0
    [reply] = tg.sent_to(555)
    assert "@someone" in reply["plain"] and "active" in reply["plain"]
    log = daemon.output()
    assert "401" in log and "Telegram bot @presswatch_bot is answering commands" in log
    assert X_TOKEN not in log and TG_TOKEN not in log
