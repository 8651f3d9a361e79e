"""Alert channels: each sends a rendered message to one address."""
