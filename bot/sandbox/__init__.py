"""Loopback emulators of the X API, the Telegram Bot API and a mail sink, for tests and the demo."""
