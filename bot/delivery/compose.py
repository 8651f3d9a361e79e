"""What one outbox row says: its transition or notice rendered in the subscriber's language, kept for the
other rows of the same event (one transition alerts many subscribers: rendered once per language)."""

from __future__ import annotations

from bot.delivery.render import Renderer
from bot.i18n import Language, language
from bot.models import Message, Subscriber
from bot.storage.accounts import Store
from bot.storage.outbox import Outbox, OutboxItem

CACHE_MAX = 1000  # rendered messages kept; emptied when full

Rendered = dict[tuple[str, int, str], Message]


def language_of(sub: Subscriber, renderer: Renderer) -> Language:
    """The subscriber's language; operators and subscribers without one get the default language."""
    return language(sub.language) if sub.language and not sub.operator else renderer.default


def render_item(item: OutboxItem, store: Store, outbox: Outbox, renderer: Renderer,
                rendered: Rendered) -> Message | None:
    """The message of one row (None when its transition or notice is gone), from ``rendered`` when there."""
    lang = language_of(item.subscriber, renderer)
    key = ("t", item.transition_id, lang.code) if item.transition_id else ("n", item.notice_id or 0, "")
    if key in rendered:
        return rendered[key]
    if item.transition_id:
        found = store.transitions(ids=[item.transition_id])
        message = renderer.alert(found[0], lang) if found else None
    else:
        notice = outbox.notice(item.notice_id or 0)
        message = renderer.operator(notice) if notice else None
    if message is not None:
        if len(rendered) > CACHE_MAX:
            rendered.clear()
        rendered[key] = message
    return message
