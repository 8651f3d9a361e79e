"""The web's templates (Jinja2, every value escaped) and the paths of its pages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.countries import country_name
from bot.delivery.render import country_label, headline, places, profile_urls
from bot.models import PLATFORM_NAMES, Transition
from bot.text import format_utc, iso
from bot.web.overview import GROUP_NAMES, group_of

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def account_path(platform: str, account_id: str | None) -> str:
    """'/accounts/x/123'; '' for an account whose id is not known yet (it has no page)."""
    return f"/accounts/{quote(platform, safe='')}/{quote(account_id, safe='')}" if account_id else ""


def evidence_path(transition_id: int) -> str:
    return f"/api/v1/transitions/{transition_id}/evidence"


def country_path(code: str) -> str:
    return f"/countries/{quote(code, safe='')}"


def profile_url(handle: str, platform: str = "x") -> str:
    """The account's profile on its own platform (x.com, bsky.app, its Mastodon home instance)."""
    return profile_urls(platform, handle, None)[0]


def _when(moment: datetime | None) -> str:
    return format_utc(moment) if moment else "unknown"


def environment() -> Environment:
    """Autoescaped HTML and Atom (XML) templates; undefined values are errors, not blanks."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2", "atom.j2", "svg.j2")),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(when=_when, iso=lambda moment: iso(moment) if moment else "", country=country_label,
                       country_name=country_name, places=places)
    env.globals.update(account_path=account_path, evidence_path=evidence_path, country_path=country_path,
                       profile_url=profile_url, platform_names=PLATFORM_NAMES, headline=headline, group_of=group_of,
                       group_names=GROUP_NAMES)
    return env


def transition_view(t: Transition) -> dict[str, Any]:
    """What a page lists of one transition."""
    return {"t": t, "headline": headline(t), "path": account_path(t.platform, t.account_id),
            "evidence_path": evidence_path(t.id)}
