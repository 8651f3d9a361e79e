"""The Telegram bot: the PTB shell (shell, updates) and its core without PTB (service: the command table;
subscriptions, ownership, claims (the codes that prove a claim), links, replies, caller, userinput).

The core decides, the shell only adapts updates and sends replies. May import: the pure core of bot/,
bot.config (durations), bot.storage, bot.delivery.pacing (replies share the alerts' pacing), watchers.base.
"""
