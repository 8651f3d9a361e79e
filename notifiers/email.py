"""Email delivery over one reused aiosmtplib connection, with SMTP errors turned into NotifyError."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import unicodedata
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from aiosmtplib import (
    SMTP,
    SMTPConnectError,
    SMTPDataError,
    SMTPException,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
)

from bot.models import Message, Secrets
from notifiers.base import ConfigRefused, Notifier, NotifyError, Permanent, Unreached

SECURITIES = ("starttls", "tls", "none")
SUBJECT_MAX = 200


class _LoginFailed(Exception):
    """The server would not let us log in: our configuration, not the subscriber."""


def clean_subject(subject: str) -> str:
    """One header-safe line: control characters and line breaks gone, whitespace collapsed, 200 chars."""
    kept = "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in subject)
    return " ".join(kept.split())[:SUBJECT_MAX].rstrip()


class _BadSender(ValueError):
    """email.from cannot be a header: our configuration, not the subscriber's address."""


def build_email(sender: str, address: str, message: Message) -> EmailMessage:
    """A multipart/alternative (text, then HTML) alert from ``sender`` to ``address``.

    _BadSender when ``sender`` cannot be a From header; ValueError when ``address`` cannot be a To header.
    """
    mail = EmailMessage()
    try:
        mail["From"] = sender
    except (ValueError, IndexError) as error:
        raise _BadSender(str(error)) from None
    mail["To"] = address
    mail["Subject"] = clean_subject(message.subject)
    mail["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    mail["Message-ID"] = make_msgid(domain=domain)
    # Tells auto-responders not to answer (RFC 3834).
    mail["Auto-Submitted"] = "auto-generated"
    if message.list_unsubscribe:
        # RFC 8058 one-click: the mail client POSTs List-Unsubscribe=One-Click to the https link.
        mail["List-Unsubscribe"] = f"<{message.list_unsubscribe}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


class EmailNotifier(Notifier):
    """Sends alerts by SMTP, keeping one connection open across a burst until ``aclose()``."""

    channel = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        sender: str,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in SECURITIES:
            raise ValueError(f"security must be one of {SECURITIES}, not {security!r}")
        self.host, self.port, self.security = host, port, security
        self._username, self._password = username, password
        self._secrets = Secrets.of([password])
        self._sender = sender
        self._timeout = timeout
        self._tls_context = tls_context
        self._smtp: SMTP | None = None
        self._lock = asyncio.Lock()
        settings = f"email {host} {port} {security} {username} {password} {sender}"
        self.fingerprint = hashlib.sha256(settings.encode()).hexdigest()[:16]

    async def send(self, address: str, message: Message) -> None:
        """Deliver one message to ``address``; reconnects once if the server dropped an idle connection."""
        try:
            mail = build_email(self._sender, address, message)
        except _BadSender as error:
            raise ConfigRefused(f"email.from {self._sender!r} cannot be sent as a From header ({error}):"
                                " fix email.from", condition="email_from") from None
        except (ValueError, IndexError) as error:
            # email's default policy refuses the To header ("Header values may not contain linefeed or
            # carriage return characters", "... is not a valid address"): no retry can make it one.
            raise Permanent(f"email {address!r}: not a usable address ({error})") from None
        async with self._lock:
            reused = self._smtp is not None and self._smtp.is_connected
            try:
                await self._deliver(mail)
            except SMTPServerDisconnected:
                await self._drop()
                if not reused:
                    raise self._translate(address, SMTPServerDisconnected("disconnected")) from None
                try:
                    await self._deliver(mail)
                except (SMTPException, OSError, _LoginFailed) as error:
                    await self._drop()
                    raise self._translate(address, error) from None
            except (SMTPException, OSError, _LoginFailed) as error:
                if not isinstance(error, SMTPResponseException | SMTPRecipientsRefused):
                    await self._drop()  # the connection state is unknown: start afresh next time
                raise self._translate(address, error) from None

    async def aclose(self) -> None:
        """Say QUIT and close the connection, if one is open."""
        async with self._lock:
            smtp, self._smtp = self._smtp, None
            if smtp is not None:
                await self._quit(smtp)

    @staticmethod
    async def _quit(smtp: SMTP) -> None:
        # QUIT lets a TLS connection shut down cleanly; close() alone can leave the socket to the GC.
        try:
            if smtp.is_connected:
                await smtp.quit()
        except (SMTPException, OSError):
            smtp.close()

    async def _deliver(self, mail: EmailMessage) -> None:
        if self._smtp is None or not self._smtp.is_connected:
            await self._drop()  # a connection the server closed still holds a socket
            self._smtp = await self._connect()
        await self._smtp.send_message(mail)

    async def _connect(self) -> SMTP:
        smtp = SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            tls_context=self._tls_context,
            timeout=self._timeout,
        )
        await smtp.connect()
        if self._username:
            try:
                await smtp.login(self._username, self._password or "")
            except SMTPException as error:
                await self._quit(smtp)
                detail = f"{error.code} {error.message}" if isinstance(error, SMTPResponseException) else str(error)
                raise _LoginFailed(detail) from None
        return smtp

    async def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _translate(self, address: str, error: BaseException) -> NotifyError:
        """The delivery decision: 5xx refusals of the mailbox are permanent; 4xx and network errors are not;
        a refused login or sender is our configuration."""
        where = f"email to {address}"
        server = f"{self.host}:{self.port}"
        # RFC 4954: "535 5.7.8 Authentication credentials invalid" (and any other refusal of AUTH): the
        # username or password in our config, the same for every subscriber.
        if isinstance(error, _LoginFailed):
            return ConfigRefused(
                f"SMTP server {server} refused the login of {self._username!r} ({self._secrets.scrub(str(error))}):"
                " check email.username, email.password and email.security", condition="smtp_login")
        # RFC 5321 4.2.1, a 5yz to MAIL FROM ("553 Requested action not taken: mailbox name not allowed",
        # "550 Requested action not taken: mailbox unavailable"): the server refuses our email.from.
        if isinstance(error, SMTPSenderRefused) and 500 <= error.code < 600:
            return ConfigRefused(f"SMTP server {server} refused the sender {self._sender!r}: {error.code} "
                                 f"{self._secrets.scrub(error.message)}: check email.from", condition="email_from")
        if isinstance(error, SMTPRecipientsRefused) and error.recipients:
            error = error.recipients[0]
        if isinstance(error, SMTPResponseException):
            # RFC 5321 4.2.1: "5yz Permanent Negative Completion reply: The command was not accepted and the
            # requested action did not occur. The SMTP client SHOULD NOT repeat the exact request". A 5yz to
            # RCPT TO (550 5.1.1, no such mailbox) or to DATA: this mailbox will not take it. A 4yz
            # ("Transient Negative Completion reply": "the action may be requested again") is retried.
            rejects_subscriber = isinstance(error, SMTPRecipientRefused | SMTPDataError)
            kind = Permanent if rejects_subscriber and 500 <= error.code < 600 else NotifyError
            return kind(f"{where}: {error.code} {self._secrets.scrub(error.message)}")
        if isinstance(error, TimeoutError):
            return NotifyError(f"{where}: SMTP server {server} timed out")
        if isinstance(error, ConnectionRefusedError | SMTPConnectError):
            return Unreached(f"{where}: SMTP server {server} not reachable ({self._secrets.scrub(str(error))})")
        return NotifyError(f"{where}: SMTP server {server}: {type(error).__name__}: {self._secrets.scrub(str(error))}")
