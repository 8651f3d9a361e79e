"""Everything SQLite: the database file (inspect, open, read-only), the daemon's lock, migrations, the
repositories, and the backoff shared by writers while the database refuses writes (guard).

The repositories, one per table or two: accounts (Store: watched accounts, their states, recording a poll
batch), transitions and polls (which Store reads and writes through), subscribers (their reads) and outbox
(subscribers' writes, notices, the outbox rows), claims; rows holds the values they return. Every query is
a named method returning values; no other package holds SQL.

May import: the pure core of bot/ (models, detect's values, routing, text).
"""
