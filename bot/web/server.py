"""The web server (aiohttp), on the daemon's event loop: routes, security headers, error pages, start and stop.

aiohttp's AppRunner is made to be embedded: it starts on a running loop, installs no signal handlers, and
stops within a bound. The pages' work runs in the reader's worker threads, so the loop only parses requests
and writes answers, and the polls and deliveries beside it are not held up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.storage.outbox import OutboxItem
from bot.storage.polls import Poll
from bot.storage.site import SiteKeys
from bot.web import api, feed, pages, unsubscribe
from bot.web.html import STATIC
from bot.web.site import SITE, BadRequest, Site

log = logging.getLogger("presswatch.web")

STOP_WAIT = 3.0  # seconds requests under way may take to finish when the daemon stops
# No script runs, nothing loads from elsewhere, no page may frame these, forms post only here.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none';"
       " frame-ancestors 'none'")
_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY", "Cross-Origin-Opener-Policy": "same-origin"}
_OPEN_DATA = ("/api/", "/feed.atom", "/export/")  # read by other sites' scripts: any origin may


class WebError(Exception):
    """The server could not start; the message says why in one line, naming server.listen."""


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_data(request: web.Request) -> bool:
    return request.path.startswith(_OPEN_DATA)


def _problem(request: web.Request, status: int, text: str) -> web.StreamResponse:
    """An error as JSON for the API, as a page elsewhere; one line, never a traceback."""
    site = request.app[SITE]
    if _is_data(request) or request.path in ("/healthz", "/metrics"):
        return web.Response(text=json.dumps({"error": text}), status=status, content_type="application/json")
    heading = {400: "Bad request", 404: "Not found", 405: "Not allowed"}.get(status, "Something went wrong")
    return site.message(heading, text, status=status)


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every answer; bad queries, unknown paths and bugs as short error answers."""
    try:
        response = await handler(request)
    except BadRequest as exc:
        response = _problem(request, 400, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:  # a redirect
            exc.headers.update(_HEADERS)
            raise
        response = _problem(request, exc.status, exc.reason if exc.status != 404 else "There is no page here.")
    except Exception:
        log.exception("the web server failed to answer %s %s", request.method, request.path)
        response = _problem(request, 500, "The server could not answer this request; the operators' log says why.")
    response.headers.update(_HEADERS)
    if _is_data(request):
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


async def healthz(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    healthy, body = site.health.check(site.clock())
    return web.json_response(body, status=200 if healthy else 503, headers={"Cache-Control": "no-store"})


async def metrics(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    body = await site.reader.run(lambda _view: site.metrics.text())
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def build_app(site: Site) -> web.Application:
    """The routes of the site (HEAD is answered wherever GET is)."""
    app = web.Application(middlewares=[_guard], client_max_size=64 * 1024)
    app[SITE] = site
    app.router.add_get("/", pages.index)
    app.router.add_get("/accounts", pages.accounts)
    app.router.add_get("/accounts/{platform}/{id}", pages.account)
    app.router.add_get("/countries/{code}", pages.country)
    app.router.add_get("/feed.atom", feed.feed)
    app.router.add_get("/api/v1/accounts", api.accounts)
    app.router.add_get("/api/v1/transitions", api.transitions)
    app.router.add_get("/api/v1/transitions/{id}/evidence", api.evidence)
    app.router.add_get("/export/{name}.csv", api.export)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/unsubscribe/{token}", unsubscribe.confirm)
    app.router.add_post("/unsubscribe/{token}", unsubscribe.one_click)
    app.router.add_static("/static", STATIC)
    return app


class WebServer:
    """The site served on ``host:port`` while entered (``async with``); ``url`` is where it listens."""

    def __init__(self, site: Site, host: str, port: int) -> None:
        self.site = site
        self.host, self.port = host, port
        self.url = ""
        self._runner: web.AppRunner | None = None

    def prepare(self, keys: SiteKeys, last_poll: Poll | None, now: datetime) -> None:
        """Before start: the site's keys (made once per database), and the last successful poll for /healthz."""
        if self.site.unsubscriber is not None:
            self.site.unsubscriber.key = keys.get("unsubscribe", now)
        self.site.feed_namespace = uuid.UUID(bytes=keys.get("feed", now)[:16])
        self.site.health.last_success = last_poll.finished_at if last_poll else None

    def cycle(self, platform: str, ok: int, failed: int, aborted: str | None, now: datetime) -> None:
        """After each poll cycle: accounts read and not, why it stopped early (if it did)."""
        self.site.health.cycle(ok, aborted, now)
        self.site.metrics.cycle(platform, ok, failed)

    def delivered(self, items: Sequence[OutboxItem], now: datetime) -> None:
        """Messages delivered: each alert's time since its confirmation (its rows are queued then)."""
        self.site.metrics.delivered([item.created_at for item in items if item.transition_id], now)

    async def __aenter__(self) -> WebServer:
        runner = web.AppRunner(build_app(self.site), access_log=None, shutdown_timeout=STOP_WAIT)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            await asyncio.to_thread(self.site.reader.close)
            raise WebError(f"server.listen: cannot listen on {self.host}:{self.port}:"
                           f" {exc.strerror or exc}") from None
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.url = f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"
        log.info("web server listening on %s%s", self.url,
                 f" (public address {self.site.public_url})" if self.site.public_url else "")
        return self

    async def __aexit__(self, _type: type[BaseException] | None, _exc: BaseException | None,
                        _tb: TracebackType | None) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await asyncio.to_thread(self.site.reader.close)
