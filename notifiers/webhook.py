"""Webhook delivery on httpx: one POST per alert, as presswatch's signed JSON or a chat service's incoming-webhook
body (Slack, Mattermost, Discord), with HTTP answers turned into NotifyError.

A webhook URL is a secret (Slack's and Discord's carry their token in the path): no message, log line or
notice shows more than its scheme and host.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from bot.models import Message, Secrets, hidden_url
from notifiers.base import Notifier, NotifyError, Permanent, RetryLater, Unreached

FORMATS = ("json", "slack", "mattermost", "discord")
PAYLOAD_VERSION = 1
DISCORD_MAX = 2000  # Discord: "content: the message contents (up to 2000 characters)"
SLACK_SECTION_MAX = 3000  # Slack: a section block's text is at most 3000 characters
REDIRECTS_MAX = 3
# RFC 9110 15.5.5 (404 Not Found) and 15.5.11 (410 Gone: "no longer available ... likely to be permanent"):
# Slack answers 404 no_service / channel_not_found and 410 channel_is_archived for a deleted webhook,
# Discord 404 Unknown Webhook. Other 4xx (a body refused, a signature refused) are retried, then given up on.
GONE = frozenset({404, 410})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Hook:
    """One subscriber's webhook, as the YAML gives it."""

    url: str
    format: str = "json"
    secret: str | None = field(default=None, repr=False)
    timeout: float = 10.0


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """'sha256=' and the hex HMAC-SHA256 of '<timestamp>.<body>' with ``secret``: X-Presswatch-Signature."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _slack_escape(text: str) -> str:
    # Slack mrkdwn: "&, < and > ... must be escaped" (else <!everyone> in a display name pings a channel).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def body(hook: Hook, message: Message) -> dict[str, Any]:
    """The JSON body for ``hook``'s format."""
    text = message.text.strip()
    if hook.format == "slack":
        return {"text": _slack_escape(message.subject),
                "blocks": [{"type": "section", "text": {"type": "mrkdwn",
                                                        "text": _clip(_slack_escape(text), SLACK_SECTION_MAX)}}]}
    if hook.format == "mattermost":
        return {"text": text}
    if hook.format == "discord":
        # No @everyone, role or user pings from an outside value.
        return {"content": _clip(text, DISCORD_MAX - 10), "allowed_mentions": {"parse": []}}
    return {"version": PAYLOAD_VERSION, **(message.data or {"text": text})}


def retry_after(response: httpx.Response, now: float) -> float | None:
    """Seconds a 429 asks us to wait: Retry-After (seconds or an HTTP date), else Discord's body retry_after."""
    value = response.headers.get("retry-after", "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError, IndexError):
                pass
    try:
        found = response.json().get("retry_after")
    except (ValueError, AttributeError):
        return None
    return float(found) if isinstance(found, int | float) and not isinstance(found, bool) and found >= 0 else None


class WebhookNotifier(Notifier):
    """POSTs alerts to the webhooks of the config, by URL; raises NotifyError with the delivery decision."""

    channel = "webhook"

    def __init__(self, hooks: Mapping[str, Hook], *, unix: Callable[[], float], user_agent: str = "presswatch",
                 client: httpx.AsyncClient | None = None) -> None:
        self.hooks = dict(hooks)
        self._unix = unix
        self._user_agent = user_agent
        self._client = client
        self._owns_client = client is None
        settings = json.dumps(sorted((h.url, h.format, h.secret or "") for h in self.hooks.values()))
        self.fingerprint = hashlib.sha256(f"webhook {settings}".encode()).hexdigest()[:16]
        self._secrets = Secrets.of([value for h in self.hooks.values() for value in (h.url, h.secret)])

    async def send(self, address: str, message: Message) -> None:
        """POST ``message`` to the webhook at ``address`` (its URL, as the config gives it)."""
        hook = self.hooks.get(address)
        where = f"webhook {hidden_url(address)}"
        if hook is None:
            raise Permanent(f"{where} is not in the config any more")
        payload = json.dumps(body(hook, message), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"content-type": "application/json", "user-agent": self._user_agent}
        if message.key:
            headers["x-presswatch-delivery"] = message.key
        if hook.format == "json" and hook.secret:
            timestamp = int(self._unix())
            headers["x-presswatch-timestamp"] = str(timestamp)
            headers["x-presswatch-signature"] = sign(hook.secret, timestamp, payload)
        response = await self._post(hook, payload, headers, where)
        self._judge(response, where)

    async def _post(self, hook: Hook, payload: bytes, headers: dict[str, str], where: str) -> httpx.Response:
        """POST, following a redirect only within the same scheme and host, at most REDIRECTS_MAX times."""
        url = hook.url
        for _ in range(REDIRECTS_MAX + 1):
            try:
                response = await self._http().post(url, content=payload, headers=headers, timeout=hook.timeout)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                raise Unreached(f"{where}: not reachable ({type(error).__name__})") from None
            except httpx.TimeoutException as error:
                raise NotifyError(f"{where}: timed out ({type(error).__name__})") from None
            except httpx.HTTPError as error:
                raise NotifyError(f"{where}: {type(error).__name__}: {self._secrets.scrub(str(error))}") from None
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or not location:
                return response
            target = urljoin(url, location)
            if (urlsplit(target).scheme, urlsplit(target).netloc) != (urlsplit(url).scheme, urlsplit(url).netloc):
                raise Permanent(f"{where}: answered {response.status_code}, a redirect to another host "
                                f"({hidden_url(target)}); presswatch does not follow it: check the webhook URL")
            url = target
        raise NotifyError(f"{where}: more than {REDIRECTS_MAX} redirects")

    def _judge(self, response: httpx.Response, where: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = self._secrets.scrub(response.text[:200].strip()) or response.reason_phrase
        if status == 429:
            after = retry_after(response, self._unix())
            if after is not None:
                raise RetryLater(f"{where}: rate limited (429), retry in {after:g} s", after=after)
            raise NotifyError(f"{where}: rate limited (429) without Retry-After")
        if status in GONE:
            raise Permanent(f"{where}: {status} ({reason}): the webhook was deleted or its channel archived")
        raise NotifyError(f"{where}: answered {status} ({reason})")

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # Redirects are handled in _post: never to another host.
            self._client = httpx.AsyncClient(follow_redirects=False, limits=httpx.Limits(max_connections=32))
        return self._client

    async def aclose(self) -> None:
        """Kept between bursts (connections are reused); closed when the daemon stops."""

    async def __aexit__(self, *exc_info: object) -> None:
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            await client.aclose()
