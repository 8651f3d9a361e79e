"""The Notifier protocol and the delivery errors, one type per decision the dispatcher takes."""

from __future__ import annotations

from typing import Protocol, Self

from bot.models import Message


class NotifyError(Exception):
    """A message was not delivered, for a reason that may pass: retry it with backoff."""


class Unreached(NotifyError):
    """The service never received the request (connection refused, no route): it counts against no limit."""


class RetryLater(NotifyError):
    """The service asked us to wait ``after`` seconds (flood control, 429 with a delay)."""

    def __init__(self, message: str, *, after: float) -> None:
        super().__init__(message)
        self.after = after


class Permanent(NotifyError):
    """This address will never accept our messages (bot blocked, kicked, mailbox refused): disable it."""


class Moved(NotifyError):
    """The chat moved to ``address`` (a group became a supergroup): resend there."""

    def __init__(self, message: str, *, address: str) -> None:
        super().__init__(message)
        self.address = address


class ConfigRefused(NotifyError):
    """The service refused our own configuration (bot token, SMTP login, sender): an operator problem.

    No subscriber is at fault, so none is disabled; ``condition`` names the problem for the operators'
    notice (raised once, resolved by the next delivery on the channel).
    """

    def __init__(self, message: str, *, condition: str) -> None:
        super().__init__(message)
        self.condition = condition


class Notifier(Protocol):
    """Sends one rendered message to one address; raises a NotifyError when it was not delivered.

    ``fingerprint`` identifies the channel's configuration (server, sender, token) without revealing it:
    a subscriber disabled under one configuration is tried again when it changes.

    An async context manager: ``async with`` returns the notifier itself and closes it on exit. ``aclose``
    may also be called between sends (the dispatcher closes an SMTP connection after a burst): the next
    send opens what it needs again. A notifier that subclasses this protocol inherits both methods.
    """

    channel: str
    fingerprint: str

    async def send(self, address: str, message: Message) -> None: ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
