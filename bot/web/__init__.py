"""The public face, served by `presswatch run` on its own loop: the status page, account and country pages,
the Atom feed, the read-only JSON API, CSV exports, /healthz, /metrics and one-click unsubscribe.

Lives here: server (aiohttp: routes, headers, start and stop), site (what handlers share), reader (worker
threads with read-only connections, and the cache), pages, feed, api, ops (health and metrics), unsubscribe
(signed links), overview and chart (the status page's figures, pure), html (templates and paths).

May import: the pure core of bot/, config, storage (its public view and site keys, the outbox for
unsubscribing) and delivery.render (the words of alerts). Never reads subscribers but to unsubscribe one.
"""
