"""Loopback emulators of the X API, the Telegram Bot API and a mail sink, and the config.yaml writer pointed
at them (configs), for tests and the demo."""
