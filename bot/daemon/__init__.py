"""The daemon's wiring: App builds every long-lived part before anything starts (parts: those built from
the config alone, the chat bot among them), runs them on one loop and closes them in reverse order of
start; the registry is the one place that imports the concrete watchers and notifiers; supervise restarts
a task that died; reload watches the config file (and SIGHUP) and live applies a new version to the App.

May import: every room of bot/, watchers and notifiers (through the registry only).
"""
