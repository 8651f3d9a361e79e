"""Email delivery over one reused aiosmtplib connection, with SMTP errors turned into NotifyError."""

from __future__ import annotations

import asyncio
import ssl
import unicodedata
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from aiosmtplib import (
    SMTP,
    SMTPDataError,
    SMTPException,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPServerDisconnected,
)

from bot.models import Message
from notifiers.base import NotifyError

SECURITIES = ("starttls", "tls", "none")
SUBJECT_MAX = 200


class _LoginFailed(Exception):
    """The server would not let us log in: our configuration, not the subscriber."""


def clean_subject(subject: str) -> str:
    """One header-safe line: control characters and line breaks gone, whitespace collapsed, 200 chars."""
    kept = "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in subject)
    return " ".join(kept.split())[:SUBJECT_MAX].rstrip()


def build_email(sender: str, address: str, message: Message) -> EmailMessage:
    """A multipart/alternative (text, then HTML) alert from ``sender`` to ``address``."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = address
    mail["Subject"] = clean_subject(message.subject)
    mail["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    mail["Message-ID"] = make_msgid(domain=domain)
    # Tells auto-responders not to answer (RFC 3834).
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


class EmailNotifier:
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
        self._sender = sender
        self._timeout = timeout
        self._tls_context = tls_context
        self._smtp: SMTP | None = None
        self._lock = asyncio.Lock()

    async def send(self, address: str, message: Message) -> None:
        """Deliver one message to ``address``; reconnects once if the server dropped an idle connection."""
        try:
            mail = build_email(self._sender, address, message)
        except (ValueError, IndexError) as error:
            raise NotifyError(f"email {address!r}: not a usable address ({error})", permanent=True) from None
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
        """The delivery decision: 5xx refusals are permanent; 4xx, network and our own config are not."""
        where = f"email to {address}"
        server = f"{self.host}:{self.port}"
        if isinstance(error, _LoginFailed):
            return NotifyError(
                f"SMTP server {server} refused the login of {self._username!r} "
                f"({self._scrub(str(error))}): check email.username, email.password and email.security"
            )
        if isinstance(error, SMTPRecipientsRefused) and error.recipients:
            error = error.recipients[0]
        if isinstance(error, SMTPResponseException):
            # A refused sender or greeting is our setup; only the mailbox or the message can be permanent.
            rejects_subscriber = isinstance(error, SMTPRecipientRefused | SMTPDataError)
            permanent = rejects_subscriber and 500 <= error.code < 600
            return NotifyError(f"{where}: {error.code} {self._scrub(error.message)}", permanent=permanent)
        if isinstance(error, TimeoutError):
            return NotifyError(f"{where}: SMTP server {server} timed out")
        return NotifyError(f"{where}: SMTP server {server}: {type(error).__name__}: {self._scrub(str(error))}")

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text
