"""HMICFRS's publications feed: reports about this force registered as they are published.

Modules: ``read`` (fetch or read the document within limits, refuse DTDs and entities with
defusedxml, parse it with feedparser; the only importer of both), ``match`` (whether an
item names this force, another, or none) and ``watch`` (``s55 report watch`` and the
daemon's poll: each new item decided once, registered through ``responses``, the admins
mailed through ``mail``).
"""
