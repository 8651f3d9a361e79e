"""Handles as people paste them: bare, @name, account links; links to X's own pages are refused."""

from __future__ import annotations

import pytest

from bot.handles import normalize_handle


@pytest.mark.parametrize(
    ("text", "handle"),
    [
        ("MahirZeynalov", "MahirZeynalov"),
        ("@MahirZeynalov", "MahirZeynalov"),
        ("https://x.com/MahirZeynalov", "MahirZeynalov"),
        ("twitter.com/MahirZeynalov/", "MahirZeynalov"),
        ("https://mobile.twitter.com/#!/MahirZeynalov?lang=en", "MahirZeynalov"),
        ("home", "home"),  # typed alone, a name is a handle: only a link says it is X's page
        ("@home", "home"),
        ("x.com/@home", "home"),
        ("x.com/homeland", "homeland"),
    ],
)
def test_accounts_are_normalised(text: str, handle: str) -> None:
    assert normalize_handle(text) == handle


@pytest.mark.parametrize(
    ("text", "page"),
    [
        ("x.com/home", "home"),
        ("https://twitter.com/Home", "home"),
        ("https://x.com/i/lists/123", "i"),
        ("x.com/i", "i"),
        ("x.com/search?q=press", "search"),
        ("x.com/explore", "explore"),
        ("x.com/settings/account", "settings"),
        ("https://x.com/intent/tweet?text=hi", "intent"),
        ("x.com/share", "share"),
        ("x.com/notifications", "notifications"),
        ("x.com/messages", "messages"),
        ("x.com/compose/post", "compose"),
        ("x.com/hashtag/pressfreedom", "hashtag"),
        ("x.com/login", "login"),
        ("x.com/signup", "signup"),
        ("x.com/tos", "tos"),
        ("x.com/privacy", "privacy"),
    ],
)
def test_links_to_x_pages_are_not_accounts(text: str, page: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalize_handle(text)
    assert str(caught.value) == f"{text!r} is a link to X's {page!r} page, not to an account"


@pytest.mark.parametrize("text", ["x.com/MahirZeynalov/status/1", "not a handle", "x.com/", "@", "a" * 16])
def test_other_text_is_not_a_handle(text: str) -> None:
    with pytest.raises(ValueError, match="is not an X handle"):
        normalize_handle(text)
