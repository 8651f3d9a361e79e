"""Reading the platforms on schedule: poll cycles (monitor), their batches, the X condition the operators
are told about (health), the APScheduler schedule and the request rate limits.

May import: the pure core of bot/, bot.storage, and watchers.base (never a concrete watcher).
"""
