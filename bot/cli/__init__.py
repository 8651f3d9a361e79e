"""The `presswatch` command: its arguments, descriptions and examples (parser), the commands (main), signals,
the checks made before the database is touched (preflight), and the log setup with secrets redacted (logs).

May import: every room of bot/.
"""
