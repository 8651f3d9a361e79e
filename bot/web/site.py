"""What every handler of the web server shares: the reader, the templates, the words of alerts, the clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from jinja2 import Environment

from bot.delivery.render import Renderer
from bot.storage.public import PublicView
from bot.web.ops import Metrics, PollStatus
from bot.web.reader import Reader

if TYPE_CHECKING:
    from bot.web.unsubscribe import Unsubscriber

HTML = "text/html; charset=utf-8"
FEED_PATH = "/feed.atom"


class BadRequest(ValueError):
    """A query parameter that cannot be understood; the message names it and says why, in one line."""


@dataclass(slots=True)
class Site:
    """The web server's parts (built by the daemon, started with it)."""

    title: str
    public_url: str | None
    confirmations: int
    reader: Reader
    env: Environment
    renderer: Renderer
    clock: Callable[[], datetime]
    health: PollStatus
    metrics: Metrics
    unsubscriber: Unsubscriber | None = None
    feed_namespace: uuid.UUID = field(default_factory=lambda: uuid.UUID(int=0))

    def base(self, request: web.Request) -> str:
        """Where absolute links point: ``server.public_url``, else the address this request came to."""
        return self.public_url or f"{request.scheme}://{request.host}"

    def render(self, template: str, **values: Any) -> str:
        context = {"title": self.title, "feed_title": f"{self.title}: changes", "feed_path": FEED_PATH,
                   "confirmations": self.confirmations, "updated": False}  # False: nothing said of the last poll
        return self.env.get_template(template).render(context | values)

    def page(self, view: PublicView, template: str, **values: Any) -> bytes:
        """A page of the site, with the time of the last successful poll in its footer."""
        last = view.last_poll(successful=True)
        return self.render(template, updated=last.finished_at if last else None, **values).encode()

    def message(self, heading: str, text: str, *, status: int = 200, **form: Any) -> web.Response:
        """A short page that says one thing (not found, a bad link, unsubscribed), with an optional form."""
        values = {"form_action": "", "button": ""} | form
        body = self.render("message.html.j2", heading=heading, text=text, **values)
        return web.Response(body=body.encode(), status=status, content_type="text/html", charset="utf-8")


def html(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="text/html", charset="utf-8")


SITE = web.AppKey("site", Site)
