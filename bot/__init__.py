"""presswatch: watches journalists' accounts and alerts their defenders."""

__version__ = "0.1.0"
