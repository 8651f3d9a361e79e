"""Schema migrations (sqlite-utils Migrations). Append new ones with @migration; never edit an applied one.

Each migration's number (its place in NAMES) is the schema it brings a database to. Applying one also
records, in the same transaction, that number and the presswatch version that applied it
(``presswatch_schema``): an older build that finds a migration name it does not know can then say which
presswatch the database needs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from bot import __version__

migrations = Migrations("presswatch")
NAMES: list[str] = []  # this build's migrations, in order
SCHEMA_TABLE = "presswatch_schema"

MigrationFn = Callable[[Database], None]


def migration(fn: MigrationFn) -> MigrationFn:
    """Register ``fn`` as the next migration; applying it also stamps its schema number and our version."""
    NAMES.append(fn.__name__)
    schema = len(NAMES)

    @functools.wraps(fn)
    def apply(db: Database) -> None:
        fn(db)
        _ensure_schema_table(db)
        db.execute(f"INSERT OR REPLACE INTO {SCHEMA_TABLE} (schema, presswatch) VALUES (?, ?)", [schema, __version__])

    migrations(name=fn.__name__)(apply)
    return fn


def _ensure_schema_table(db: Database) -> None:
    db.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (schema INTEGER PRIMARY KEY, presswatch TEXT NOT NULL)")


@migration
def m001_initial(db: Database) -> None:
    """Accounts with their state and pending candidate, transitions, polls."""
    db.executescript(
        """
        CREATE TABLE accounts (
            pk INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            account_id TEXT,
            handle TEXT NOT NULL,
            listed_handle TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '[]',
            source TEXT NOT NULL,
            owner_telegram_id INTEGER,
            watched INTEGER NOT NULL DEFAULT 1,
            added_at TEXT NOT NULL,
            availability TEXT,
            protected INTEGER NOT NULL DEFAULT 0,
            withheld_in TEXT NOT NULL DEFAULT '[]',
            state_since TEXT,
            pending_state TEXT,
            pending_count INTEGER NOT NULL DEFAULT 0,
            pending_first_seen TEXT
        );
        CREATE UNIQUE INDEX accounts_platform_id ON accounts (platform, account_id)
            WHERE account_id IS NOT NULL;
        CREATE UNIQUE INDEX accounts_listed ON accounts (platform, lower(listed_handle));
        CREATE TABLE transitions (
            id INTEGER PRIMARY KEY,
            account_pk INTEGER NOT NULL REFERENCES accounts(pk),
            kind TEXT NOT NULL,
            countries TEXT NOT NULL DEFAULT '[]',
            withheld_in TEXT NOT NULL DEFAULT '[]',
            availability TEXT NOT NULL,
            handle TEXT NOT NULL,
            previous_handle TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            first_seen_at TEXT NOT NULL,
            confirmed_at TEXT NOT NULL,
            previous_since TEXT,
            evidence TEXT NOT NULL,
            evidence_sha256 TEXT NOT NULL
        );
        CREATE INDEX transitions_account ON transitions (account_pk, id);
        CREATE TABLE polls (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            requests INTEGER NOT NULL DEFAULT 0,
            accounts_ok INTEGER NOT NULL DEFAULT 0,
            accounts_failed INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            rate_remaining INTEGER,
            rate_reset_at TEXT
        );
        """
    )


@migration
def m002_delivery(db: Database) -> None:
    """Subscribers, operator notices and the outbox."""
    db.executescript(
        """
        CREATE TABLE subscribers (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            countries TEXT NOT NULL DEFAULT '[]',
            events TEXT NOT NULL DEFAULT '["restricted", "restored"]',
            tags TEXT NOT NULL DEFAULT '[]',
            accounts TEXT NOT NULL DEFAULT '[]',
            operator INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            disabled_reason TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE notices (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            condition TEXT,
            summary TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL,
            resolved_at TEXT
        );
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
            transition_id INTEGER REFERENCES transitions(id),
            notice_id INTEGER REFERENCES notices(id),
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            last_error TEXT
        );
        CREATE UNIQUE INDEX outbox_transition ON outbox (transition_id, subscriber_id)
            WHERE transition_id IS NOT NULL;
        CREATE UNIQUE INDEX outbox_notice ON outbox (notice_id, subscriber_id)
            WHERE notice_id IS NOT NULL;
        CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
        """
    )


@migration
def m003_telegram(db: Database) -> None:
    """Claims: a Telegram user asking to own a handle, proved by a code in its bio or by an admin."""
    db.executescript(
        """
        CREATE TABLE claims (
            id INTEGER PRIMARY KEY,
            telegram_user_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            handle TEXT NOT NULL,
            code TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'verified', 'approved', 'rejected', 'expired')),
            decided_at TEXT,
            decided_by INTEGER,
            account_pk INTEGER REFERENCES accounts(pk)
        );
        CREATE INDEX claims_user ON claims (telegram_user_id, status);
        CREATE INDEX claims_handle ON claims (lower(handle), status);
        """
    )


@migration
def m004_schema_record(db: Database) -> None:
    """The presswatch_schema table, for databases made before it: which presswatch applied which schema."""
    _ensure_schema_table(db)


@migration
def m005_disabled_fingerprint(db: Database) -> None:
    """The channel configuration a subscriber was disabled under: it is tried again when that changes.

    Subscribers disabled by a delivery failure before this migration get '' (unknown), so each gets one
    more try at the next start (an earlier build disabled everyone on our own email.from mistake).
    """
    db.executescript(
        """
        ALTER TABLE subscribers ADD COLUMN disabled_fingerprint TEXT;
        UPDATE subscribers SET disabled_fingerprint = '' WHERE enabled = 0 AND disabled_reason NOT IN
            ('removed from the config', 'unsubscribed on Telegram', 'no longer the account''s owner');
        """
    )


@migration
def m006_public(db: Database) -> None:
    """The public face: accounts kept off the web (``private``), and the site's own keys (unsubscribe links,
    feed ids), made once per database so links in mail already sent keep working across restarts."""
    db.executescript(
        """
        ALTER TABLE accounts ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE site_keys (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        """
    )


@migration
def m007_imports(db: Database) -> None:
    """Imported accounts' reference and note, and the watchlist revision that tells other processes of changes.

    ``watchlist_revision`` moves in the same transaction as any change to which accounts are watched, or
    to their listing (tags, handle listed, source, owner), whichever process makes it: triggers bump it,
    so `presswatch import` and `remove` reach a running daemon without a signal. Recording a poll (state,
    ids, current handle) does not move it: the monitor refreshes those rows itself.
    """
    db.executescript(
        """
        ALTER TABLE accounts ADD COLUMN source_ref TEXT;
        ALTER TABLE accounts ADD COLUMN note TEXT;
        CREATE TABLE watchlist_revision (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL);
        INSERT INTO watchlist_revision (id, revision) VALUES (1, 0);
        CREATE TRIGGER accounts_listed AFTER INSERT ON accounts
            BEGIN UPDATE watchlist_revision SET revision = revision + 1; END;
        CREATE TRIGGER accounts_unlisted AFTER DELETE ON accounts
            BEGIN UPDATE watchlist_revision SET revision = revision + 1; END;
        CREATE TRIGGER accounts_relisted
            AFTER UPDATE OF watched, tags, listed_handle, source, source_ref, owner_telegram_id ON accounts
            WHEN old.watched IS NOT new.watched OR old.tags IS NOT new.tags
                OR old.listed_handle IS NOT new.listed_handle OR old.source IS NOT new.source
                OR old.source_ref IS NOT new.source_ref OR old.owner_telegram_id IS NOT new.owner_telegram_id
            BEGIN UPDATE watchlist_revision SET revision = revision + 1; END;
        """
    )


@migration
def m008_languages_and_batches(db: Database) -> None:
    """A subscriber's and a claimant's language (NULL: the default language), the message an outbox row
    was claimed in, and a notice's words (bot/said.py: to be said in the default language when sent).

    ``batch`` names the one message (a digest) a set of rows went out in, on channels whose server drops
    a repeated request by its id (Matrix's txnId): after a crash the same rows are sent under the same id.
    """
    db.executescript(
        """
        ALTER TABLE subscribers ADD COLUMN language TEXT;
        ALTER TABLE outbox ADD COLUMN batch TEXT;
        ALTER TABLE claims ADD COLUMN language TEXT;
        ALTER TABLE notices ADD COLUMN words TEXT;
        CREATE INDEX outbox_batch ON outbox (batch) WHERE batch IS NOT NULL;
        """
    )


@migration
def m009_platforms(db: Database) -> None:
    """Bluesky and Mastodon beside X: each transition names its platform (every earlier one is X's), an
    account knows Mastodon's ``limited`` and the person it belongs to, a subscriber filters by platform,
    and each poll row names the lane that polled (``x``, ``bluesky``, ``mastodon:<instance>``). A Mastodon id
    is its home instance's: unique with the instance (two instances may number accounts alike)."""
    db.executescript(
        """
        ALTER TABLE transitions ADD COLUMN platform TEXT NOT NULL DEFAULT 'x';
        ALTER TABLE accounts ADD COLUMN limited INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE accounts ADD COLUMN person TEXT NOT NULL DEFAULT '';
        ALTER TABLE subscribers ADD COLUMN platforms TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE polls ADD COLUMN platform TEXT NOT NULL DEFAULT 'x';
        DROP INDEX accounts_platform_id;
        CREATE UNIQUE INDEX accounts_platform_id ON accounts (platform, account_id,
            CASE WHEN platform = 'mastodon' THEN lower(substr(listed_handle, instr(listed_handle, '@') + 1))
                 ELSE '' END)
            WHERE account_id IS NOT NULL;
        """
    )


SCHEMA = len(NAMES)  # the schema this build brings a database to, and the newest it can use
