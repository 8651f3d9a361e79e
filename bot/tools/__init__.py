"""One-off commands beside the daemon: `check` and `history` reads (check) and the scripted demo (demo).

May import: anything in bot/ (they are shells like the CLI), the sandboxes (demo only).
"""
