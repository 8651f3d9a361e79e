"""Reading the platforms on schedule: poll cycles (monitor), their batches, the X condition the operators
are told about (health) and the APScheduler schedule (the rate limits are bot.ratelimit, in the core).

May import: the pure core of bot/, bot.storage, and watchers.base (never a concrete watcher).
"""
