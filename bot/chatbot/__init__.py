"""The Telegram bot: the PTB shell (shell: the handlers; connection: the Application's start and stop;
updates) and its core without PTB (service: the command table and its callables; subscriptions, ownership,
lookup (the X lookup of /verify), claims (the codes that prove a claim), links, replies, caller, userinput).

The core decides, the shell only adapts updates and sends replies. Every part is handed in by constructor
(the daemon builds them): the repositories, the pacer, the X lookup. May import: the pure core of bot/,
bot.config (durations, the telegram section), bot.storage, bot.delivery.pacing (replies share the alerts'
pacing), watchers.base.
"""
