"""Getting alerts out: the dispatcher's lanes, what a send's outcome means (outcome), Telegram pacing and
retry backoff (pacing), and the words of alerts and notices (render, templates/).

May import: the pure core of bot/, bot.storage, and notifiers.base (never a concrete notifier).
"""
