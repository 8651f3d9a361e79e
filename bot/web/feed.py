"""The Atom feed of confirmed transitions, and the filters it shares with the API: ``country``, ``tag``, ``kind``.

A filter means what it means in a subscriber's: ``country`` limits withheld/unwithheld events to those
countries (a suspension passes; XX, everywhere, passes any), ``tag`` limits to accounts with one of those
tags, ``kind`` takes kinds and groups. Each may be repeated or comma-separated; together they all apply.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiMapping

from bot.countries import normalize_country
from bot.delivery.render import headline
from bot.models import Event, EventKind, Subscriber, Transition, expand_events
from bot.routing import matches
from bot.storage.public import PublicView
from bot.text import is_tag, iso
from bot.web.html import account_path
from bot.web.site import FEED_PATH, SITE, BadRequest, Site

ENTRIES = 50
ATOM = "application/atom+xml"
_EVENT_NAMES = ("restricted", "restored", "other", *(kind.value for kind in EventKind))


@dataclass(frozen=True)
class Filter:
    """What a feed or an API answer lets through (empty: everything)."""

    countries: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # The filter as a subscriber's: one rule for alerts, feeds and the API (bot.routing).
    subscriber: Subscriber = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        events = expand_events(self.kinds) if self.kinds else frozenset(EventKind)
        object.__setattr__(self, "subscriber", Subscriber(
            id=0, name="feed", channel="web", address="", countries=frozenset(self.countries), events=events,
            tags=frozenset(self.tags)))

    def passes(self, t: Transition) -> bool:
        return matches(self.subscriber, Event(t.kind, t.countries), t.tags, t.account_pk)

    def select(self, transitions: Iterable[Transition], limit: int) -> Iterator[Transition]:
        """The first ``limit`` transitions that pass."""
        taken = 0
        for t in transitions:
            if taken >= limit:
                return
            if self.passes(t):
                taken += 1
                yield t

    def query(self) -> str:
        """The filter as a query string ('' when empty), in a canonical order."""
        pairs = [(name, ",".join(values)) for name, values in
                 (("country", self.countries), ("tag", self.tags), ("kind", self.kinds)) if values]
        return urlencode(pairs, safe=",")


def _values(query: MultiMapping[str], name: str) -> list[str]:
    return [word.strip() for value in query.getall(name, []) for word in value.split(",") if word.strip()]


def parse_filter(query: MultiMapping[str]) -> Filter:
    """The filter of a query string; BadRequest naming the first value that is not a country, tag or kind."""
    countries = []
    for word in _values(query, "country"):
        try:
            countries.append(normalize_country(word))
        except ValueError as exc:
            raise BadRequest(f"country: {exc}") from None
    tags = [word.lower() for word in _values(query, "tag")]
    for tag in tags:
        if not is_tag(tag):
            raise BadRequest(f"tag: {tag[:40]!r} is not a tag: 1 to 32 letters, digits, '_' or '-'")
    kinds = _values(query, "kind")
    for kind in kinds:
        if kind not in _EVENT_NAMES:
            raise BadRequest(f"kind: {kind[:40]!r} is not an event kind or group: use {', '.join(_EVENT_NAMES)}")
    return Filter(tuple(sorted(set(countries))), tuple(dict.fromkeys(kinds)), tuple(sorted(set(tags))))


async def feed(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    selected = parse_filter(request.query)
    base = site.base(request)
    body = await site.reader.cached(("feed", base, selected), lambda view: _atom(site, view, base, selected))
    return web.Response(body=body, content_type=ATOM, charset="utf-8")


def entry_id(namespace: uuid.UUID, transition_id: int) -> str:
    """A transition's entry id, the same in every feed and for ever: a UUID named by the site and the id."""
    return uuid.uuid5(namespace, f"transition/{transition_id}").urn


def _atom(site: Site, view: PublicView, base: str, selected: Filter) -> bytes:
    entries = []
    for t in selected.select(view.iter_transitions(), ENTRIES):
        path = account_path(t.platform, t.account_id)
        entries.append({"id": entry_id(site.feed_namespace, t.id), "title": headline(t), "at": iso(t.confirmed_at),
                        "link": base + path if path else "", "kind": str(t.kind), "countries": t.countries,
                        "platform": t.platform,
                        "text": site.renderer.alert(t).text})
    query = selected.query()
    return site.render(
        "feed.atom.j2", feed_id=uuid.uuid5(site.feed_namespace, f"feed?{query}").urn,
        updated=entries[0]["at"] if entries else iso(site.clock()), entries=entries,
        self_url=f"{base}{FEED_PATH}" + (f"?{query}" if query else ""), home_url=f"{base}/",
        feed_title=f"{site.title}: changes" + (f" ({query.replace('&', ', ')})" if query else ""),
    ).encode()
