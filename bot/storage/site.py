"""The site's writes: its keys (made once per database) and which accounts the config keeps off the web."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlite_utils import Database

KEY_BYTES = 32


class SiteKeys:
    """Random keys kept in the database, one per use (``unsubscribe``, ``feed``): made the first time one is
    asked for, the same ever after, so links in mail already sent keep working across restarts and config
    changes. They never leave the process."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str, now: datetime) -> bytes:
        """The key named ``name``, made (32 random bytes) and stored if it does not exist yet."""
        with self.db.atomic():
            rows = list(self.db.query("SELECT value FROM site_keys WHERE name = ?", [name]))
            if rows:
                return bytes.fromhex(rows[0]["value"])
            key = secrets.token_bytes(KEY_BYTES)
            self.db.table("site_keys").insert({"name": name, "value": key.hex(), "created_at": now.isoformat()})
            return key


def set_private(db: Database, handles: Iterable[str]) -> int:
    """Mark the config's watched accounts listed as ``handles`` private and the config's other ones public.

    An account dropped from the config keeps its mark: its history stays off the web if it was private.
    Returns how many accounts are private now.
    """
    wanted = json.dumps(sorted({handle.casefold() for handle in handles}))
    with db.atomic():
        db.execute(
            "UPDATE accounts SET private = (lower(listed_handle) IN (SELECT value FROM json_each(?)))"
            " WHERE source = 'config' AND watched = 1", [wanted])
        return int(db.execute("SELECT count(*) FROM accounts WHERE private = 1").fetchone()[0])
