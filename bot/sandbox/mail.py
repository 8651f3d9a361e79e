"""A loopback SMTP sink on aiosmtpd: plain, STARTTLS or implicit TLS, optional AUTH, and faults."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

CERT_DIR = Path(__file__).parent / "certs"
CERT_FILE = CERT_DIR / "localhost.crt"
KEY_FILE = CERT_DIR / "localhost.key"
SECURITIES = ("none", "starttls", "tls")


class ReceivedMessage(EmailMessage):
    """A delivered message, parsed, with its SMTP envelope."""

    mail_from: str = ""
    rcpt_tos: tuple[str, ...] = ()


def server_tls_context() -> ssl.SSLContext:
    """The sink's TLS context: the bundled self-signed localhost certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(CERT_FILE, KEY_FILE)
    return context


def client_tls_context() -> ssl.SSLContext:
    """A client context that trusts the sink's self-signed certificate (and nothing else)."""
    return ssl.create_default_context(cafile=str(CERT_FILE))


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now (aiosmtpd cannot bind port 0)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class _CountingSMTP(SMTP):
    def __init__(self, sink: MailSink, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sink = sink

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not the controller's readiness probe, nor the second call STARTTLS makes.
        if self._original_transport is None:
            if isinstance(transport, asyncio.Transport):
                self._sink._transports.add(transport)
            if self._sink._ready:
                with self._sink._cond:
                    self._sink.connections += 1
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._sink._transports.discard(self._original_transport or self.transport)
        super().connection_lost(error)


class _SinkController(Controller):
    def __init__(self, sink: MailSink, **kwargs: Any) -> None:
        super().__init__(sink, **kwargs)
        self._sink = sink

    def factory(self) -> SMTP:
        return _CountingSMTP(self._sink, self.handler, **self.SMTP_kwargs)


class MailSink:
    """Accepts mail on 127.0.0.1 and keeps it in ``messages``; refusals and downtime on demand."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        security: str = "none",
        auth: tuple[str, str] | None = None,
    ) -> None:
        if security not in SECURITIES:
            raise ValueError(f"security must be one of {SECURITIES}, not {security!r}")
        self.host = host
        self.port = port or free_port(host)
        self.security = security
        self.auth = auth
        self.messages: list[ReceivedMessage] = []
        self.connections = 0
        self.auth_failures = 0
        self._cond = threading.Condition()
        self._refusals: list[tuple[int, str, str]] = []
        self._refused_recipients: dict[str, tuple[int, str]] = {}
        self._controller: _SinkController | None = None
        self._ready = False
        self._transports: set[asyncio.Transport] = set()

    def start(self) -> MailSink:
        """Listen on ``port`` in aiosmtpd's own thread."""
        kwargs: dict[str, Any] = {"hostname": self.host, "port": self.port, "ready_timeout": 5.0}
        if self.security == "starttls":
            kwargs.update(tls_context=server_tls_context(), require_starttls=True)
        elif self.security == "tls":
            kwargs.update(ssl_context=server_tls_context())
        if self.auth is not None:
            # As real servers do, AUTH is offered only over TLS. aiosmtpd sees only STARTTLS as TLS,
            # so on an implicit-TLS socket (already encrypted) the check must be off.
            kwargs.update(authenticator=self._authenticate, auth_require_tls=self.security != "tls")
        self._ready = False
        self._controller = _SinkController(self, **kwargs)
        self._controller.start()
        self._ready = True
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._controller is not None:
            # aiosmtpd leaves client connections open when it stops; close them as a dying server would.
            done = threading.Event()
            self._controller.loop.call_soon_threadsafe(self._close_connections, done)
            done.wait(timeout=2)
            self._controller.stop()
            self._controller = None

    def _close_connections(self, done: threading.Event) -> None:
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        # abort() closes the socket in a callback; signal only after those callbacks ran.
        asyncio.get_running_loop().call_soon(done.set)

    def set_down(self, down: bool) -> None:
        """Refuse connections (True), or listen again on the same port (False)."""
        if down:
            self.stop()
        elif self._controller is None:
            self.start()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def refuse_next(
        self, count: int = 1, code: int = 451, message: str = "4.3.0 Try again later", *, at: str = "data"
    ) -> None:
        """Refuse the next ``count`` transactions at DATA or at RCPT ("data" | "rcpt")."""
        if at not in ("data", "rcpt"):
            raise ValueError("at must be 'data' or 'rcpt'")
        with self._cond:
            self._refusals.extend([(code, message, at)] * count)

    def refuse_recipient(self, address: str, code: int = 550, message: str = "5.1.1 Mailbox unavailable") -> None:
        """Always refuse this recipient at RCPT."""
        with self._cond:
            self._refused_recipients[address.lower()] = (code, message)

    def wait_for(self, n: int, timeout: float) -> bool:
        """Block until at least ``n`` messages were accepted; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.messages) >= n, timeout=timeout)

    async def wait_for_async(self, n: int, timeout: float) -> bool:
        """wait_for without blocking the caller's event loop."""
        return await asyncio.to_thread(self.wait_for, n, timeout)

    def _take_refusal(self, at: str) -> str | None:
        with self._cond:
            if self._refusals and self._refusals[0][2] == at:
                code, message, _ = self._refusals.pop(0)
                return f"{code} {message}"
        return None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refused = self._refused_recipients.get(address.lower())
        if refused is not None:
            return f"{refused[0]} {refused[1]}"
        refusal = self._take_refusal("rcpt")
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self._take_refusal("data")
        if refusal is not None:
            return refusal
        content = envelope.original_content or b""
        parsed = BytesParser(_class=ReceivedMessage, policy=default).parsebytes(content)
        assert isinstance(parsed, ReceivedMessage)
        parsed.mail_from = envelope.mail_from or ""
        parsed.rcpt_tos = tuple(envelope.rcpt_tos)
        with self._cond:
            self.messages.append(parsed)
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and self.auth is not None:
            given = (auth_data.login.decode(), auth_data.password.decode())
            if given == self.auth:
                return AuthResult(success=True)
        with self._cond:
            self.auth_failures += 1
        return AuthResult(success=False, handled=False)
