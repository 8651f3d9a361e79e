"""The import reference in alerts: "Listed in: Court order 2016/1234" in every format, escaped, short in digests."""

from __future__ import annotations

import dataclasses

from bot.delivery.render import Renderer
from bot.models import EventKind
from tests.test_render import transition

ORDER = "Court order 2016/1234"


def test_an_alert_about_an_imported_account_says_what_it_was_listed_in() -> None:
    message = Renderer().alert(transition(listed_in=ORDER))
    assert f"Listed in: {ORDER}\n" in message.text
    assert f"<b>Listed in:</b> {ORDER}\n" in message.telegram_html
    assert f'<th align="left">Listed in</th><td>{ORDER}</td>' in message.html


def test_an_alert_about_an_account_of_the_config_or_telegram_has_no_such_line() -> None:
    message = Renderer().alert(transition())
    assert "Listed in" not in message.text + message.telegram_html + message.html


def test_the_reference_is_escaped_and_kept_on_one_line() -> None:
    message = Renderer().alert(transition(listed_in="<b>Order</b> & 2\nForged: line"))
    assert "Listed in: <b>Order</b> & 2 Forged: line\n" in message.text
    assert "<b>Listed in:</b> &lt;b&gt;Order&lt;/b&gt; &amp; 2 Forged: line" in message.telegram_html
    assert "&lt;b&gt;Order&lt;/b&gt; &amp; 2 Forged: line" in message.html


def test_a_digest_names_each_imported_accounts_reference_briefly() -> None:
    long = "Ankara 5th Criminal Judgeship of Peace, order 2016/1234 of 19 September"
    items = [transition(id=n, handle=f"acct{n}", listed_in=long if n % 2 else None) for n in range(1, 5)]
    items.append(dataclasses.replace(items[0], id=9, kind=EventKind.SUSPENDED, countries=()))
    message, count = Renderer().digest(items)
    assert count == 5
    lines = [line for line in message.text.splitlines() if line.startswith("- ")]
    assert ["listed in" in line for line in lines] == [True, False, True, False, True]
    assert "(listed in: Ankara 5th Criminal Judgeship of Peace,…)" in lines[0]
