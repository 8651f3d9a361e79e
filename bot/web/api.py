"""The read-only JSON API (``/api/v1``), the raw evidence of a transition, and the CSV exports.

Items carry the fields of ``check --json`` (accounts) and ``history --json`` (transitions), plus ``platform``,
``url`` (the account's page) and, for transitions, ``transition_id`` and ``evidence_url``. Lists are newest
first, paged with ``?limit=N&before=CURSOR`` and answered as ``{"items": [...], "next": CURSOR or null}``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from bot.models import Transition
from bot.storage.public import PublicAccount, PublicView
from bot.text import iso, iso_ms
from bot.web.feed import Filter, parse_filter
from bot.web.html import account_path, evidence_path
from bot.web.overview import group_of
from bot.web.site import SITE, BadRequest, Site

LIMIT_DEFAULT, LIMIT_MAX = 100, 1000
JSON = "application/json"
ACCOUNT_FIELDS = ("platform", "handle", "id", "availability", "protected", "withheld_in", "name", "error", "state",
                  "since", "tags", "watched", "url")
TRANSITION_FIELDS = ("transition_id", "platform", "handle", "id", "kind", "countries", "withheld_in", "at",
                     "first_seen", "previous_handle", "evidence", "url", "evidence_url")


def _whole(text: str | None, name: str, default: int | None, top: int) -> int | None:
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 18 or not 1 <= int(text) <= top:
        raise BadRequest(f"{name}: expected a whole number from 1 to {top}, found {text[:40]!r}")
    return int(text)


def paging(request: web.Request) -> tuple[int, int | None]:
    """``limit`` (1 to 1000, default 100) and ``before`` (a cursor from ``next``) of a list request."""
    limit = _whole(request.query.get("limit"), "limit", LIMIT_DEFAULT, LIMIT_MAX)
    assert limit is not None
    return limit, _whole(request.query.get("before"), "before", None, 2**62)


def account_item(account: PublicAccount, base: str) -> dict[str, Any]:
    path = account_path(account.platform, account.account_id)
    return {"platform": account.platform, "handle": account.handle, "id": account.account_id,
            "availability": account.availability, "protected": account.protected,
            "withheld_in": sorted(account.withheld_in), "name": account.name, "error": None,
            "state": group_of(account), "since": iso(account.since) if account.since else None,
            "tags": list(account.tags), "watched": account.watched, "url": base + path if path else None}


def transition_item(t: Transition, base: str) -> dict[str, Any]:
    path = account_path(t.platform, t.account_id)
    return {"transition_id": t.id, "platform": t.platform, "handle": t.handle, "id": t.account_id,
            "kind": str(t.kind), "countries": list(t.countries), "withheld_in": list(t.withheld_in),
            "at": iso_ms(t.confirmed_at), "first_seen": iso_ms(t.first_seen_at), "previous_handle": t.previous_handle,
            "evidence": t.evidence_sha256, "url": base + path if path else None,
            "evidence_url": base + evidence_path(t.id)}


def _page(items: list[dict[str, Any]], cursors: list[int], limit: int) -> bytes:
    """One page of a list: ``limit + 1`` items were read, so a next page exists when they all came."""
    more = len(items) > limit
    answer = {"items": items[:limit], "next": str(cursors[limit - 1]) if more else None}
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()


async def accounts(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    limit, before = paging(request)
    base = site.base(request)

    def build(view: PublicView) -> bytes:
        found = view.accounts(limit=limit + 1, before=before)
        return _page([account_item(account, base) for account in found], [account.pk for account in found], limit)

    return _json(await site.reader.cached(("api-accounts", base, limit, before), build))


async def transitions(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    limit, before = paging(request)
    selected = parse_filter(request.query)
    base = site.base(request)

    def build(view: PublicView) -> bytes:
        found = list(selected.select(view.iter_transitions(before=before), limit + 1))
        return _page([transition_item(t, base) for t in found], [t.id for t in found], limit)

    return _json(await site.reader.cached(("api-transitions", base, limit, before, selected), build))


async def evidence(request: web.Request) -> web.StreamResponse:
    """The raw API entry exactly as stored: ``curl URL | sha256sum`` gives the transition's ``evidence``."""
    site = request.app[SITE]
    ident = _whole(request.match_info["id"], "transition id", None, 2**62)
    found = await site.reader.run(lambda view: view.evidence(ident or 0))
    if found is None:
        raise web.HTTPNotFound(text=json.dumps({"error": "no such transition"}), content_type=JSON)
    raw, sha256 = found
    return web.Response(body=raw.encode(), content_type=JSON, charset="utf-8",
                        headers={"X-Evidence-SHA256": sha256, "Cache-Control": "public, max-age=86400, immutable"})


def _json(body: bytes) -> web.Response:
    return web.Response(body=body, content_type=JSON, charset="utf-8")


def _csv(rows: Iterable[Iterable[Any]]) -> bytes:
    """RFC 4180: CRLF line ends, fields quoted when they must be; UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def export_accounts(site: Site, view: PublicView, base: str) -> bytes:
    items = (account_item(account, base) for account in view.accounts())
    return _csv([ACCOUNT_FIELDS, *([_cell(item[name]) for name in ACCOUNT_FIELDS] for item in items)])


def export_transitions(site: Site, view: PublicView, base: str) -> bytes:
    items = (transition_item(t, base) for t in view.iter_transitions())
    return _csv([TRANSITION_FIELDS, *([_cell(item[name]) for name in TRANSITION_FIELDS] for item in items)])


async def export(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    name = request.match_info["name"]
    build = {"accounts": export_accounts, "transitions": export_transitions}.get(name)
    if build is None:
        raise web.HTTPNotFound()
    base = site.base(request)
    body = await site.reader.cached(("csv", name, base), lambda view: build(site, view, base))
    return web.Response(body=body, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="presswatch-{name}.csv"'})


__all__ = ["Filter", "account_item", "accounts", "evidence", "export", "transition_item", "transitions"]
