"""Webhooks: the real httpx client against the webhook sink: each format's shape, the signed JSON payload and
its schema, and what each HTTP answer means."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import jsonschema
import pytest
from test_render import transition

from bot.delivery.render import Renderer
from bot.i18n import language
from bot.models import Message
from bot.sandbox.http import Answer
from bot.sandbox.webhook_sink import WebhookSink
from notifiers.base import NotifyError, Permanent, RetryLater, Unreached
from notifiers.webhook import DISCORD_MAX, Hook, WebhookNotifier, sign

SCHEMA = json.loads((Path(__file__).parents[1] / "bot" / "schemas" / "webhook-v1.json").read_text())
SECRET = "hook-secret-1234"
TOKEN_PATH = "T0001/B0002/XXXXsecretXXXX"


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as server:
        yield server


def hooks(sink: WebhookSink) -> dict[str, Hook]:
    found = {}
    for kind in ("json", "slack", "mattermost", "discord"):
        url = sink.add_hook(f"{kind}-{TOKEN_PATH.replace('/', '-')}", kind, SECRET if kind == "json" else None)
        found[kind] = Hook(url, kind, SECRET if kind == "json" else None, timeout=0.5)
    return found


@pytest.fixture
async def notifier(sink: WebhookSink) -> AsyncIterator[WebhookNotifier]:
    async with WebhookNotifier({hook.url: hook for hook in hooks(sink).values()}, unix=time.time) as built:
        yield built


def alert(name: str = "Mahir Zeynalov", lang: str = "en") -> Message:
    return Renderer().alert(transition(name=name), language(lang)).with_key("pw42")


def url(notifier: WebhookNotifier, kind: str) -> str:
    return next(hook.url for hook in notifier.hooks.values() if hook.format == kind)


async def test_a_json_webhook_posts_the_signed_versioned_payload(notifier: WebhookNotifier, sink: WebhookSink) -> None:
    await notifier.send(url(notifier, "json"), alert())
    [got] = sink.received
    assert got.status == 200 and got.verified is True
    jsonschema.validate(got.body, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert got.body["version"] == 1
    assert got.body["event"] | {} == {"kind": "withheld", "countries": ["IN"], "withheld_in": ["IN"],
                                      "at": "2021-02-01T14:05:00Z", "first_seen": "2021-02-01T13:55:00Z",
                                      "transition_id": 7, "previous_handle": "MahirZeynalov"}
    assert got.body["account"]["url"] == "https://x.com/MahirZeynalov"
    assert got.body["evidence"]["sha256"] == transition().evidence_sha256
    stamp = got.headers["x-presswatch-timestamp"]
    assert got.headers["x-presswatch-signature"] == sign(SECRET, int(stamp), got.raw)
    assert got.headers["x-presswatch-delivery"] == "pw42"


async def test_a_json_payload_carries_the_text_in_the_subscribers_language(
        notifier: WebhookNotifier, sink: WebhookSink) -> None:
    await notifier.send(url(notifier, "json"), alert(lang="tr"))
    assert "Hindistan (IN)" in sink.received[0].body["text"]


@pytest.mark.parametrize("kind", ["slack", "mattermost", "discord"])
async def test_chat_services_get_their_own_shape(notifier: WebhookNotifier, sink: WebhookSink, kind: str) -> None:
    await notifier.send(url(notifier, kind), alert())
    [got] = sink.received
    assert got.status < 300, got.body
    text = {"slack": lambda b: b["blocks"][0]["text"]["text"], "mattermost": lambda b: b["text"],
            "discord": lambda b: b["content"]}[kind](got.body)
    assert "@MahirZeynalov is now withheld in India (IN)" in text
    assert "x-presswatch-signature" not in got.headers  # only json is signed


async def test_an_outside_value_cannot_ping_a_channel(notifier: WebhookNotifier, sink: WebhookSink) -> None:
    message = alert(name="<!everyone> @everyone & <@123>")
    await notifier.send(url(notifier, "slack"), message)
    await notifier.send(url(notifier, "discord"), message)
    slack, discord = (r.body for r in sink.received)
    assert "<!everyone>" not in json.dumps(slack) and "&lt;!everyone&gt;" in slack["blocks"][0]["text"]["text"]
    assert discord["allowed_mentions"] == {"parse": []}


async def test_discord_content_stays_under_2000_characters(notifier: WebhookNotifier, sink: WebhookSink) -> None:
    await notifier.send(url(notifier, "discord"), alert(name="x" * 5000))
    [got] = sink.received
    assert got.status == 204 and len(got.body["content"]) < DISCORD_MAX


async def test_a_429_honours_retry_after(notifier: WebhookNotifier, sink: WebhookSink) -> None:
    target = url(notifier, "json")
    sink.fail(target.rsplit("/", 1)[1], "429")
    with pytest.raises(RetryLater) as caught:
        await notifier.send(target, alert())
    assert caught.value.after == 1.0


@pytest.mark.parametrize("fault", ["500", "timeout", Answer(503, b"busy")])
async def test_5xx_and_timeouts_are_retried_later(
        notifier: WebhookNotifier, sink: WebhookSink, fault: str | Answer) -> None:
    target = url(notifier, "mattermost")
    sink.slow_seconds = 1.5
    sink.fail(target.rsplit("/", 1)[1], fault)
    with pytest.raises(NotifyError) as caught:
        await notifier.send(target, alert())
    assert type(caught.value) is NotifyError
    assert TOKEN_PATH.split("/")[2] not in str(caught.value)


@pytest.mark.parametrize("fault", ["410", "404"])
async def test_a_deleted_webhook_is_permanent(notifier: WebhookNotifier, sink: WebhookSink, fault: str) -> None:
    target = url(notifier, "slack")
    sink.fail(target.rsplit("/", 1)[1], fault)
    with pytest.raises(Permanent) as caught:
        await notifier.send(target, alert())
    assert "XXXXsecretXXXX" not in str(caught.value) and "127.0.0.1" in str(caught.value)


async def test_a_redirect_to_another_host_is_not_followed(notifier: WebhookNotifier, sink: WebhookSink) -> None:
    with WebhookSink(host="127.0.0.2") as elsewhere:
        trap = elsewhere.add_hook("trap", "json")
        target = url(notifier, "json")
        sink.fail(target.rsplit("/", 1)[1], f"redirect:{trap}")
        with pytest.raises(Permanent, match="another host"):
            await notifier.send(target, alert())
        assert elsewhere.received == []


async def test_a_redirect_on_the_same_host_is_followed(notifier: WebhookNotifier, sink: WebhookSink) -> None:
    moved = sink.add_hook("moved", "json", SECRET)
    target = url(notifier, "json")
    sink.fail(target.rsplit("/", 1)[1], f"redirect:{moved}")
    await notifier.send(target, alert())
    assert [r.path for r in sink.received if r.status == 200] == ["/hooks/moved"]


async def test_a_receiver_that_is_down_was_never_reached(notifier: WebhookNotifier, sink: WebhookSink) -> None:
    target = url(notifier, "json")
    sink.set_down(True)
    with pytest.raises(Unreached):
        await notifier.send(target, alert())


async def test_an_address_not_in_the_config_is_permanent(notifier: WebhookNotifier) -> None:
    with pytest.raises(Permanent, match="not in the config"):
        await notifier.send("https://hooks.example.org/services/gone", alert())


async def test_a_bad_signature_is_refused_by_the_sink(sink: WebhookSink) -> None:
    target = sink.add_hook("strict", "json", SECRET)
    async with WebhookNotifier({target: Hook(target, "json", "another-secret")}, unix=time.time) as wrong:
        with pytest.raises(NotifyError, match="401"):
            await wrong.send(target, alert())
    assert sink.received[0].verified is False
