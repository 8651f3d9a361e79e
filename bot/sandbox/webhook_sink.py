"""A loopback webhook receiver: presswatch's signed JSON and the incoming webhooks of Slack, Mattermost and
Discord, each body checked for its service's shape (refused as the service refuses it), signatures verified,
with faults on demand (429 with Retry-After, 5xx, 404/410, slow answers, redirects, being down)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.http import Answer, LoopbackHttp, Request

SIGNATURE_TOLERANCE = 300  # seconds: a receiver refuses a timestamp further from its own clock (replays)
JSON = dict[str, Any]


@dataclass(slots=True)
class Received:
    """One POST the sink accepted (or refused, with ``status``)."""

    path: str
    format: str
    headers: dict[str, str]
    raw: bytes
    body: Any
    status: int
    verified: bool | None = None  # json with a secret: did the signature verify


@dataclass(slots=True)
class _Hook:
    format: str
    secret: str | None
    faults: list[Answer | str] = field(default_factory=list)


def _json(status: int, payload: JSON, *headers: tuple[str, str]) -> Answer:
    return Answer(status, json.dumps(payload).encode(), tuple(headers))


def _text(status: int, text: str) -> Answer:
    return Answer(status, text.encode(), content_type="text/plain")


def shape_problem(kind: str, body: Any) -> str | None:
    """Why a service would refuse this body (None when it has the service's shape)."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if kind == "slack":  # Slack: 400 no_text / invalid_blocks
        blocks = body.get("blocks", [])
        if not isinstance(body.get("text"), str) or not body["text"].strip():
            return "no_text"
        if not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks):
            return "invalid_blocks"
        return None
    if kind == "mattermost":
        return None if isinstance(body.get("text"), str) and body["text"].strip() else "text is required"
    if kind == "discord":  # 50006 empty message; 50035 content longer than 2000
        content = body.get("content")
        if not isinstance(content, str) or not content.strip():
            return "Cannot send an empty message"
        return None if len(content) <= 2000 else "content: Must be 2000 or fewer in length."
    for key in ("event", "account", "evidence"):
        if not isinstance(body.get(key), dict):
            return f"{key} is missing"
    return None if body.get("version") == 1 else "version is not 1"


class WebhookSink(LoopbackHttp):
    """Webhooks at ``/hooks/<name>`` on 127.0.0.1; ``received`` keeps every request, accepted or not."""

    name = "webhook-sink"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.received: list[Received] = []
        self.slow_seconds = 2.0
        self._hooks: dict[str, _Hook] = {}

    def add_hook(self, name: str, kind: str = "json", secret: str | None = None) -> str:
        """A webhook for ``kind`` (json, slack, mattermost, discord); returns its URL."""
        with self._cond:
            self._hooks[f"/hooks/{name}"] = _Hook(kind, secret)
        return f"{self.base_url}/hooks/{name}"

    def fail(self, name: str, *faults: Answer | str) -> None:
        """Answer the next requests to ``name`` with these, in order: an Answer, "timeout" (accept, answer
        late), "429" (Retry-After: 1), "500", "410", or "redirect:<url>" (a 307 there)."""
        with self._cond:
            self._hooks[f"/hooks/{name}"].faults.extend(faults)

    def to(self, name: str, *, accepted: bool = True) -> list[Received]:
        with self._cond:
            return [r for r in self.received if r.path == f"/hooks/{name}" and (r.status < 300) == accepted]

    def wait_for(self, name: str, count: int, timeout: float) -> bool:
        return self.wait(lambda: len([r for r in self.received if r.path == f"/hooks/{name}" and r.status < 300])
                         >= count, timeout)

    def handle(self, request: Request) -> Answer | None:
        with self._cond:
            hook = self._hooks.get(request.path)
            if request.method != "POST" or hook is None:
                return _json(404, {"message": "Unknown Webhook", "code": 10015})
            fault = hook.faults.pop(0) if hook.faults else None
        if fault == "timeout":
            answer = self._accept(request, hook)
            self._stopping.wait(self.slow_seconds)
            return answer
        if fault is not None:
            answer = self._fault(fault)
            self._record(request, hook, None, answer.status, None)
            return answer
        return self._accept(request, hook)

    @staticmethod
    def _fault(fault: Answer | str) -> Answer:
        if isinstance(fault, Answer):
            return fault
        if fault.startswith("redirect:"):
            return Answer(307, b"", (("Location", fault.removeprefix("redirect:")),))
        if fault == "429":
            return _json(429, {"message": "You are being rate limited.", "retry_after": 1.0}, ("Retry-After", "1"))
        if fault == "410":
            return _text(410, "channel_is_archived")
        if fault == "404":
            return _text(404, "no_service")
        return _text(int(fault), "internal error")

    def _accept(self, request: Request, hook: _Hook) -> Answer:
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        verified = self._verify(request, hook) if hook.secret else None
        problem = shape_problem(hook.format, body)
        if verified is False:
            answer = _json(401, {"error": "signature does not verify"})
        elif problem is not None:
            answer = _json(400, {"message": problem}) if hook.format != "slack" else _text(400, problem)
        elif hook.format == "discord":
            answer = Answer(204)
        elif hook.format == "json":
            answer = _json(200, {"ok": True})
        else:
            answer = _text(200, "ok")
        self._record(request, hook, body, answer.status, verified)
        return answer

    def _record(self, request: Request, hook: _Hook, body: Any, status: int, verified: bool | None) -> None:
        with self._cond:
            self.received.append(Received(request.path, hook.format, request.headers, request.body, body, status,
                                          verified))
            self._cond.notify_all()

    @staticmethod
    def _verify(request: Request, hook: _Hook) -> bool:
        """The receiver's side of X-Presswatch-Signature: HMAC-SHA256 of '<timestamp>.<body>', fresh timestamp."""
        stamp = request.headers.get("x-presswatch-timestamp", "")
        given = request.headers.get("x-presswatch-signature", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > SIGNATURE_TOLERANCE or hook.secret is None:
            return False
        expected = hmac.new(hook.secret.encode(), stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(given, f"sha256={expected}")
