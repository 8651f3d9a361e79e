"""Everything SQLite: the database file (inspect, open, read-only), the daemon's lock, migrations, and the
repositories (accounts and transitions, subscribers/notices/outbox, claims), plus the backoff shared by
writers while the database refuses writes.

The only package with SQL in it. May import: the pure core of bot/ (models, detect's values, routing, text).
"""
