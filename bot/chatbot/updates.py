"""getUpdates answers read one update at a time, so that one PTB cannot parse does not stall every command.

python-telegram-bot parses a getUpdates batch all or nothing (``Update.de_list``); when one update fails,
its Updater logs the whole batch (personal data included), keeps its offset and asks for the same batch
again, without end: no command is answered any more. Here each update is checked on its own; one that
cannot be parsed is logged once by its id and replaced by an empty update with the same id, which no
handler takes and which moves the offset past it.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest

log = logging.getLogger("presswatch.telegram")


def readable_updates(results: list[Any]) -> list[Any]:
    """``results`` of a getUpdates answer, with each update PTB cannot parse replaced by ``{"update_id": N}``.

    An entry without an integer ``update_id`` is dropped (Telegram always sends one). Logs name the update
    id and the error type, never the update's content at INFO or above: it may hold names and messages.
    """
    readable: list[Any] = []
    for entry in results:
        update_id = entry.get("update_id") if isinstance(entry, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            # The Updater computes its next offset from it: a missing or odd id would break polling too.
            log.warning("skipped a Telegram update without an integer update_id")
            continue
        try:
            Update.de_json(entry, None)
        except Exception as exc:
            log.warning("skipped Telegram update %d: python-telegram-bot cannot read it (%s)",
                        update_id, type(exc).__name__)
            log.debug("Telegram update %d: %r", update_id, exc)
            entry = {"update_id": update_id}
        readable.append(entry)
    return readable


class UpdatesRequest(HTTPXRequest):
    """The HTTP client for getUpdates only (``ApplicationBuilder.get_updates_request``).

    ``parse_json_payload`` is PTB's documented hook for decoding answers; this one also makes every
    update in a successful answer parseable, before PTB's Bot.get_updates parses the batch.
    """

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        decoded: dict[str, Any] = HTTPXRequest.parse_json_payload(payload)
        results = decoded.get("result") if isinstance(decoded, dict) and decoded.get("ok") else None
        if isinstance(results, list):
            decoded["result"] = readable_updates(results)
        return decoded
