"""Alerts name the platform of the account that changed, and link to its profile there."""

from __future__ import annotations

import dataclasses

from bot.delivery.render import Renderer
from bot.delivery.words import alert_subject
from bot.i18n import ENGLISH
from bot.models import EventKind
from tests.test_render import assert_valid_telegram, transition

BSKY = {"platform": "bluesky", "handle": "mahir.bsky.social", "account_id": "did:plc:abc", "countries": ("TR",),
        "withheld_in": ("TR",), "previous_handle": "mahir.bsky.social"}
MASTO = {"platform": "mastodon", "handle": "mahir@mastodon.social", "account_id": "109",
         "previous_handle": "mahir@mastodon.social"}


def test_a_bluesky_country_label_is_said_hidden_on_bluesky() -> None:
    t = transition(EventKind.WITHHELD, **BSKY)
    message = Renderer().alert(t)
    assert "@mahir.bsky.social is now hidden in Turkey (TR) on Bluesky" in message.text
    assert alert_subject(t, ENGLISH) == "[presswatch] @mahir.bsky.social hidden in Turkey (TR) on Bluesky"
    assert "https://bsky.app/profile/mahir.bsky.social" in message.text
    assert_valid_telegram(message.telegram_html)


def test_a_mastodon_suspension_names_mastodon_and_links_the_home_instance() -> None:
    t = transition(EventKind.SUSPENDED, **MASTO)
    message = Renderer().alert(t)
    assert "@mahir@mastodon.social has been suspended on Mastodon" in message.text
    assert "https://mastodon.social/@mahir" in message.text and "x.com" not in message.text


def test_x_alerts_keep_their_words() -> None:
    t = transition(EventKind.WITHHELD)
    assert "@MahirZeynalov is now withheld in India (IN)" in Renderer().alert(t).text
    assert " on X" not in Renderer().alert(t).text


def test_a_digest_labels_each_change_by_platform() -> None:
    mastodon = dataclasses.replace(transition(EventKind.SUSPENDED, **MASTO), id=8)
    items = [transition(EventKind.WITHHELD, **BSKY), mastodon, transition(EventKind.WITHHELD)]
    message, count = Renderer().digest(items)
    assert count == 3
    assert "hidden in Turkey (TR) on Bluesky" in message.text and "suspended on Mastodon" in message.text
