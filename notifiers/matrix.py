"""Matrix delivery on httpx: one m.room.message per message, sent under a transaction id the outbox gives, so
that the homeserver itself drops a resend after a crash; Matrix errors turned into NotifyError.

Client-Server API v3: ``PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}``. "The transaction
ID for this event. Clients should generate an ID unique across requests with the same access token; it
will be used by the server to ensure idempotency of requests."
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

import httpx

from bot.models import Message, Secrets
from notifiers.base import ConfigRefused, Notifier, NotifyError, Permanent, RetryLater, Unreached

SEND_PATH = "/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}"
# "M_FORBIDDEN: Forbidden access, e.g. joining a room without permission" (sending to a room we are not in).
PERMANENT = frozenset({"M_FORBIDDEN"})
# "M_UNKNOWN_TOKEN: The access or refresh token specified was not recognised", M_MISSING_TOKEN: our own token.
OUR_TOKEN = frozenset({"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"})
_BREAK = re.compile(r"\r?\n")


def formatted(message: Message) -> str:
    """The HTML ``formatted_body``: the Telegram HTML (outside values already escaped; b, i, a, code and
    blockquote are in Matrix's suggested subset), with line breaks as <br>."""
    return _BREAK.sub("<br>", message.telegram_html.strip())


def content(message: Message) -> dict[str, str]:
    return {"msgtype": "m.text", "body": message.text.strip(), "format": "org.matrix.custom.html",
            "formatted_body": formatted(message)}


class MatrixNotifier(Notifier):
    """Sends rendered alerts to Matrix rooms as the account of ``access_token``."""

    channel = "matrix"

    def __init__(self, homeserver: str, access_token: str, *, timeout: float = 30.0,
                 client: httpx.AsyncClient | None = None) -> None:
        self.homeserver = homeserver.rstrip("/")
        self._token = access_token
        self._timeout = timeout
        self._client = client
        self._owns_client = client is None
        self._secrets = Secrets.of([access_token])
        self.fingerprint = hashlib.sha256(f"matrix {self.homeserver} {access_token}".encode()).hexdigest()[:16]

    async def send(self, address: str, message: Message) -> None:
        """PUT the message in room ``address`` under ``message.key`` (the same on every attempt)."""
        where = f"matrix room {address}"
        if not address.startswith("!"):
            raise Permanent(f"{where}: not a room id")
        txn = message.key or hashlib.sha256(message.text.encode()).hexdigest()[:24]
        url = self.homeserver + SEND_PATH.format(room=quote(address, safe=""), txn=quote(txn, safe=""))
        headers = {"authorization": f"Bearer {self._token}"}
        try:
            response = await self._http().put(url, json=content(message), headers=headers, timeout=self._timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise Unreached(f"{where}: homeserver not reachable ({type(error).__name__})") from None
        except httpx.TimeoutException as error:
            raise NotifyError(f"{where}: timed out ({type(error).__name__})") from None
        except httpx.HTTPError as error:
            raise NotifyError(f"{where}: {type(error).__name__}: {self._secrets.scrub(str(error))}") from None
        self._judge(response, where)

    def _judge(self, response: httpx.Response, where: str) -> None:
        if 200 <= response.status_code < 300:
            return
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        answer = answer if isinstance(answer, dict) else {}
        code, error = str(answer.get("errcode", "")), self._secrets.scrub(str(answer.get("error", "")))[:200]
        said = f"{response.status_code} {code} {error}".strip()
        if response.status_code == 429 or code == "M_LIMIT_EXCEEDED":
            after = _retry_after(response, answer)
            if after is not None:
                raise RetryLater(f"{where}: rate limited ({said}), retry in {after:g} s", after=after)
            raise NotifyError(f"{where}: rate limited ({said})")
        if code in OUR_TOKEN:
            raise ConfigRefused(f"the Matrix homeserver {self.homeserver} refused presswatch's access token ({code}):"
                                " check matrix.access_token", condition="matrix_token")
        if code in PERMANENT:
            raise Permanent(f"{where}: {said} (is presswatch's account in the room?)")
        raise NotifyError(f"{where}: {said}")

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        """Kept between bursts; closed when the daemon stops."""

    async def __aexit__(self, *exc_info: object) -> None:
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            await client.aclose()


def _retry_after(response: httpx.Response, answer: dict[str, object]) -> float | None:
    """The spec's Retry-After header (v1.10 on) in seconds, else the older body field ``retry_after_ms``."""
    header = response.headers.get("retry-after", "").strip()
    try:
        if header:
            return max(0.0, float(header))
    except ValueError:
        pass
    found = answer.get("retry_after_ms")
    if isinstance(found, int | float) and not isinstance(found, bool) and found >= 0:
        return float(found) / 1000
    return None
