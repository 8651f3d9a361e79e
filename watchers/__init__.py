"""Platform watchers: each turns a batch of account ids or handles into observations."""
