"""EmailNotifier with real aiosmtplib against the aiosmtpd sink: content, security, reuse, refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.models import Message
from bot.sandbox.mail import MailSink, client_tls_context
from notifiers.base import ConfigRefused, NotifyError, Permanent, Unreached
from notifiers.email import EmailNotifier

USER, PASSWORD = "alerts@example.org", "s3cret-Pa55word"
SENDER = "presswatch <alerts@example.org>"


def alert(subject: str = "Jane Doe (@jane) suspended") -> Message:
    return Message(
        subject=subject,
        text="Jane Doe was suspended.",
        html="<p>Jane Doe was <b>suspended</b>.</p>",
        telegram_html="<b>Jane Doe</b> was suspended",
    )


def notifier_for(sink: MailSink, *, password: str = PASSWORD) -> EmailNotifier:
    username = sink.auth[0] if sink.auth else None
    return EmailNotifier(
        host=sink.host,
        port=sink.port,
        security=sink.security,
        username=username,
        password=password if username else None,
        sender=SENDER,
        timeout=5.0,
        tls_context=client_tls_context(),
    )


@pytest.fixture
def sink() -> Iterator[MailSink]:
    with MailSink(security="starttls", auth=(USER, PASSWORD)) as server:
        yield server


@pytest.fixture
async def notifier(sink: MailSink) -> AsyncIterator[EmailNotifier]:
    notifier = notifier_for(sink)
    yield notifier
    await notifier.aclose()


@pytest.mark.parametrize(
    ("security", "auth"), [("starttls", (USER, PASSWORD)), ("tls", (USER, PASSWORD)), ("none", None)]
)
async def test_it_delivers_over_each_security_mode(security: str, auth: tuple[str, str] | None) -> None:
    with MailSink(security=security, auth=auth) as sink:
        notifier = notifier_for(sink)
        await notifier.send("desk@example.org", alert())
        await notifier.aclose()
        assert sink.wait_for(1, timeout=2)
        assert sink.messages[0].rcpt_tos == ("desk@example.org",)
        assert sink.auth_failures == 0


async def test_the_mail_is_text_and_html_with_the_headers_we_promise(notifier: EmailNotifier, sink: MailSink) -> None:
    await notifier.send("desk@example.org", alert())
    [mail] = sink.messages
    assert mail.get_content_type() == "multipart/alternative"
    plain, rich = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and plain.get_content().strip() == "Jane Doe was suspended."
    assert rich is not None and "<b>suspended</b>" in rich.get_content()
    assert mail["From"] == SENDER and mail["To"] == "desk@example.org"
    assert mail["Subject"] == "Jane Doe (@jane) suspended"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"].endswith("@example.org>") and mail["Date"]
    assert mail.mail_from == USER
    assert notifier.channel == "email"


async def test_a_subject_cannot_inject_headers(notifier: EmailNotifier, sink: MailSink) -> None:
    await notifier.send("desk@example.org", alert("x\r\nBcc: evil@example.org\x00\t  end"))
    [mail] = sink.messages
    assert mail["Subject"] == "x Bcc: evil@example.org end"
    assert mail["Bcc"] is None and mail.rcpt_tos == ("desk@example.org",)


async def test_a_long_subject_is_trimmed(notifier: EmailNotifier, sink: MailSink) -> None:
    await notifier.send("desk@example.org", alert("é" * 500))
    assert sink.messages[0]["Subject"] == "é" * 200


async def test_a_burst_uses_one_connection(notifier: EmailNotifier, sink: MailSink) -> None:
    for index in range(10):
        await notifier.send(f"desk{index}@example.org", alert())
    assert sink.wait_for(10, timeout=2)
    assert sink.connections == 1


@pytest.mark.parametrize("at", ["data", "rcpt"])
async def test_a_4xx_is_temporary_and_the_next_try_succeeds(notifier: EmailNotifier, sink: MailSink, at: str) -> None:
    sink.refuse_next(1, 451, "4.3.0 Try again later", at=at)
    with pytest.raises(NotifyError) as raised:
        await notifier.send("desk@example.org", alert())
    assert type(raised.value) is NotifyError and "451" in str(raised.value)
    await notifier.send("desk@example.org", alert())
    assert len(sink.messages) == 1 and sink.connections == 1


async def test_a_refused_mailbox_is_permanent(notifier: EmailNotifier, sink: MailSink) -> None:
    sink.refuse_recipient("gone@example.org")
    with pytest.raises(Permanent) as raised:
        await notifier.send("gone@example.org", alert())
    assert "550" in str(raised.value)
    await notifier.send("desk@example.org", alert())
    assert [m["To"] for m in sink.messages] == ["desk@example.org"]


async def test_a_5xx_at_data_is_permanent(notifier: EmailNotifier, sink: MailSink) -> None:
    sink.refuse_next(1, 554, "5.7.1 Message rejected")
    with pytest.raises(Permanent):
        await notifier.send("desk@example.org", alert())


async def test_a_wrong_password_is_our_config_and_stays_secret(sink: MailSink) -> None:
    wrong = "not-the-Pa55word"
    notifier = notifier_for(sink, password=wrong)
    with pytest.raises(ConfigRefused) as raised:
        await notifier.send("desk@example.org", alert())
    await notifier.aclose()
    assert raised.value.condition == "smtp_login" and "login" in str(raised.value)
    assert wrong not in str(raised.value) and PASSWORD not in str(raised.value)
    assert sink.auth_failures >= 1 and sink.messages == []


async def test_a_refusal_that_quotes_the_password_has_it_redacted(notifier: EmailNotifier, sink: MailSink) -> None:
    sink.refuse_next(1, 451, f"4.7.0 temporary failure for {USER} with {PASSWORD}")
    with pytest.raises(NotifyError) as raised:
        await notifier.send("desk@example.org", alert())
    assert str(raised.value).endswith(f"451 4.7.0 temporary failure for {USER} with [redacted]")


async def test_a_down_server_is_temporary_and_recovery_reconnects(notifier: EmailNotifier, sink: MailSink) -> None:
    await notifier.send("desk@example.org", alert())
    sink.set_down(True)
    with pytest.raises(Unreached):
        await notifier.send("desk@example.org", alert())
    sink.set_down(False)
    await notifier.send("desk@example.org", alert())
    assert len(sink.messages) == 2


async def test_a_dropped_idle_connection_is_reopened_once(notifier: EmailNotifier, sink: MailSink) -> None:
    await notifier.send("desk@example.org", alert())
    sink.set_down(True)
    sink.set_down(False)
    await notifier.send("desk@example.org", alert())
    assert len(sink.messages) == 2 and sink.connections == 2


async def test_an_address_with_a_line_break_is_permanent(notifier: EmailNotifier) -> None:
    with pytest.raises(Permanent):
        await notifier.send("desk@example.org\r\nBcc: evil@example.org", alert())


async def test_a_from_header_that_cannot_be_sent_is_our_configuration_not_the_subscribers(sink: MailSink) -> None:
    """A line break in email.from once disabled every email subscriber; it is the operators' problem."""
    notifier = EmailNotifier(host="127.0.0.1", port=sink.port, security="none",
                             sender="presswatch <alerts@presswatch.test>\nBcc: x@example.org")
    with pytest.raises(ConfigRefused) as raised:
        await notifier.send("desk@example.org", alert())
    await notifier.aclose()
    assert raised.value.condition == "email_from" and "email.from" in str(raised.value)
    assert sink.messages == []


async def test_async_with_gives_the_notifier_and_ends_its_connection_on_exit(sink: MailSink) -> None:
    notifier = notifier_for(sink)
    async with notifier as entered:
        assert entered is notifier
        await entered.send("desk@example.org", alert())
        await entered.send("desk@example.org", alert())
    assert sink.connections == 1  # one connection served the burst
    await notifier.send("desk@example.org", alert())  # the exit closed it: this one opens another
    await notifier.aclose()
    assert len(sink.messages) == 3 and sink.connections == 2
