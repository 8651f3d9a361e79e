"""The Notifier protocol and NotifyError, which carries the delivery decision."""

from __future__ import annotations

from typing import Protocol

from bot.models import Message


class NotifyError(Exception):
    """A message was not delivered.

    ``permanent``: this address will never work (blocked, kicked, no such chat, mailbox refused):
    disable the subscriber. ``retry_after``: seconds the channel asked us to wait.
    ``migrate_to``: the chat moved (a group became a supergroup); resend to the new address.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        migrate_to: str | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.migrate_to = migrate_to


class Notifier(Protocol):
    """Sends one rendered message to one address; raises NotifyError when it was not delivered."""

    channel: str

    async def send(self, address: str, message: Message) -> None: ...

    async def aclose(self) -> None: ...
