"""The bot's core without PTB, as test helpers: a fake of our X lookup seam, and the core itself on a test clock."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.chatbot.caller import Caller, Reply
from bot.chatbot.claims import CODE_PREFIX
from bot.chatbot.links import link_secret
from bot.chatbot.lookup import LookupFailed
from bot.chatbot.service import SelfService
from bot.models import Availability, Observation
from bot.storage.accounts import Store, open_db
from bot.storage.claims import ClaimBook
from bot.storage.outbox import Outbox
from tests.helpers_core import Clock

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SECRET = link_secret("123456:sandbox")
ADMIN, JOURNALIST, OTHER = 1, 500, 501
GROUP = -100200


class FakeX:
    """Our lookup seam: profiles by handle; ``down`` makes X unreachable."""

    def __init__(self) -> None:
        self.profiles: dict[str, tuple[str, str]] = {}
        self.down = False
        self.asked: list[list[str]] = []

    async def __call__(self, handles: Sequence[str]) -> dict[str, Observation]:
        self.asked.append(list(handles))
        if self.down:
            raise LookupFailed("X did not answer")
        found = {}
        for handle in handles:
            if handle.casefold() in self.profiles:
                bio, name = self.profiles[handle.casefold()]
                found[handle.casefold()] = Observation(
                    platform="x", requested=handle, account_id="42", availability=Availability.ACTIVE, raw="{}",
                    handle=handle, name=name, description=bio)
        return found


class Bot:
    """The core with an in-memory store, and helpers to talk to it as different people."""

    def __init__(self, mode: str = "verify") -> None:
        self.db = open_db(None)
        self.outbox = Outbox(self.db)
        self.store = Store(self.db, self.outbox)
        self.clock, self.x = Clock(T0), FakeX()
        self.service = SelfService(self.store, self.outbox, ClaimBook(self.db), admins=[ADMIN], mode=mode,
                                   secret=SECRET, lookup=self.x, clock=self.clock)

    def private(self, user: int) -> Caller:
        return Caller(user, user, "private", f"User {user}", user == ADMIN, True)

    def group(self, user: int, *, admin_of_group: bool) -> Caller:
        return Caller(user, GROUP, "supergroup", "Press <Freedom> & Co", user == ADMIN, admin_of_group)

    async def say(self, caller: Caller, text: str) -> Reply:
        name, *args = text.split()
        return await self.service.run(name.lstrip("/"), caller, args)

    @staticmethod
    def plain(reply: Reply) -> str:
        """The reply as the chat shows it (these replies carry entities, not tags)."""
        return html.unescape(reply.text)

    def code(self, reply: Reply) -> str:
        found = re.search(CODE_PREFIX + r"[A-Z2-7]{8}", reply.text)
        assert found, reply.text
        return found.group(0)
