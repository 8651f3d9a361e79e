"""The daemon's wiring: App builds every long-lived part and runs them on one loop; the registry is the one
place that imports the concrete watchers and notifiers; supervise restarts a task that died.

May import: every room of bot/, watchers and notifiers (through the registry only).
"""
