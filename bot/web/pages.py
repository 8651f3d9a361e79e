"""The HTML pages: the status page, the account lists, one account, one country. Server-rendered, no script.

Each page is built in a web worker thread and kept until the database changes (bot.web.reader); its links
are paths on this site, so one built page serves every address the site is reached at.
"""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from bot.countries import country_name, normalize_country
from bot.storage.public import PublicView
from bot.web import chart, overview
from bot.web.html import account_path, transition_view
from bot.web.site import SITE, BadRequest, Site, html

INDEX_LIST = 50  # accounts of each restricted group listed on the status page (the rest: /accounts?state=)
LATEST = 20
PAGE_SIZE = 200
HISTORY_MAX = 500
_SOURCES = {"config": "Listed by the operators of this service",
            "telegram": "Added on Telegram (by its owner or an administrator)"}


async def index(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    return html(await site.reader.cached(("index",), lambda view: _index(site, view)))


def _index(site: Site, view: PublicView) -> bytes:
    accounts = view.accounts()
    built = overview.build(accounts, view.steps(), site.clock())
    counts = {name: len(members) for name, members in built.groups.items()}
    return site.page(
        view, "index.html.j2", groups=overview.GROUPS, counts=counts, total=len(accounts),
        restricted=sum(counts[name] for name in overview.RESTRICTED), restricted_groups=overview.RESTRICTED,
        members={name: members[:INDEX_LIST] for name, members in built.groups.items()},
        countries=built.countries, chart=chart.build(built.series),
        transitions=[transition_view(t) for t in view.transitions(limit=LATEST)],
        description="Which watched journalists' accounts on X are withheld, suspended or restored, by country.")


def page_number(text: str | None) -> int:
    if text is None:
        return 1
    if not text.isascii() or not text.isdigit() or len(text) > 6 or int(text) < 1:
        raise BadRequest(f"page: expected a page number (1, 2, ...), found {text[:40]!r}")
    return int(text)


async def accounts(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    state = request.query.get("state")
    if state is not None and state not in overview.GROUP_NAMES:
        raise BadRequest(f"state: expected one of {', '.join(overview.GROUP_NAMES)}, found {state[:40]!r}")
    page = page_number(request.query.get("page"))
    return html(await site.reader.cached(("accounts", state, page), lambda view: _accounts(site, view, state, page)))


def _accounts(site: Site, view: PublicView, state: str | None, page: int) -> bytes:
    found = [account for account in view.accounts() if state is None or overview.group_of(account) == state]
    found.sort(key=lambda account: account.handle.casefold())
    pages = max(1, math.ceil(len(found) / PAGE_SIZE))
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    prefix = f"/accounts?state={state}&page=" if state else "/accounts?page="
    return site.page(view, "accounts.html.j2", heading=overview.GROUP_NAMES[state] if state else "Watched accounts",
                     groups=overview.GROUPS, state=state, accounts=shown, count=len(found), page=page, pages=pages,
                     page_link=lambda number: f"{prefix}{number}")


async def account(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    platform, ident = request.match_info["platform"], request.match_info["id"]
    body = await site.reader.cached(("account", platform, ident), lambda view: _account(site, view, platform, ident))
    if body is None:
        return site.message("No such account", "This service shows no account with that id.", status=404)
    return html(body)


def _account(site: Site, view: PublicView, platform: str, ident: str) -> bytes | None:
    found = view.account(platform, ident)
    if found is None:
        return None
    history = view.transitions(account_pk=found.pk, limit=HISTORY_MAX)
    since = overview.withheld_since(step for step in view.steps() if step.account_pk == found.pk)
    return site.page(view, "account.html.j2", account=found, group=overview.group_of(found),
                     since={code: at for (_, code), at in since.items()},
                     source=_SOURCES.get(found.source, found.source),
                     transitions=[transition_view(t) for t in history])


async def country(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    try:
        code = normalize_country(request.match_info["code"])
    except ValueError:
        return site.message("No such country", "Countries are ISO 3166-1 alpha-2 codes, like TR or IN.", status=404)
    if code != request.match_info["code"]:
        raise web.HTTPMovedPermanently(f"/countries/{code}")
    return html(await site.reader.cached(("country", code), lambda view: _country(site, view, code)))


def _country(site: Site, view: PublicView, code: str) -> bytes:
    since = overview.withheld_since(view.steps())
    now: list[dict[str, Any]] = [
        {"account": found, "since": since.get((found.pk, code)), "path": account_path(found.platform, found.account_id)}
        for found in view.accounts() if overview.group_of(found) == "withheld" and code in found.withheld_in]
    now.sort(key=lambda row: row["account"].handle.casefold())
    withheld_now = {row["account"].pk for row in now}
    history = view.transitions(country=code, limit=HISTORY_MAX)
    formerly, seen = [], set()
    for t in history:  # newest first: the latest lifting of each account no longer withheld there
        if t.kind == "unwithheld" and t.account_pk not in withheld_now and t.account_pk not in seen:
            seen.add(t.account_pk)
            formerly.append({"t": t, "path": account_path(t.platform, t.account_id)})
    return site.page(view, "country.html.j2", code=code, name=country_name(code), now=now, formerly=formerly,
                     transitions=[transition_view(t) for t in history])
