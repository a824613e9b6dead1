"""Names vulture would call unused in the product, each used where vulture cannot see it.

Read by vulture only (``tests/house/test_dead_code__vulture.py`` runs it; so does
``vulture`` with no arguments, through ``[tool.vulture]`` in ``pyproject.toml``): a name
read anywhere in a file it scans counts as used everywhere, so each line below keeps a
name alive. Nothing imports or runs this file. Typer commands, SQLAlchemy event listeners
and pydantic validators are left out by their decorators (``ignore_decorators``), not listed here.
"""

from typing import Any

_: Any = None

# Read by templates (Jinja), which vulture does not read.
_.late_by  # notifications/render.py: "3 days" late, in the publish mail
_.early_by  # notifications/render.py: "3 days" before the deadline, in the publish mail
_.expires_text  # workflow/web/access.py: "This link works until ..." on a link's page
_.resendable  # workflow/web/access.py: offers a fresh link on an expired link's page

# Called or read by a library through its own protocol.
_.__signature__  # workflow/cli: inspect.signature reads it, so Typer sees --as and params
_.__doc__  # workflow/cli: a generated command's help text, read by Typer
_.format_commands  # workflow/cli/app.py: Click calls it to list the commands in --help
_.build_runtime_param  # workflow/cli/coerce.py: typer.core calls it for each parameter
_.__call__  # states/escalations.py: a Protocol's call signature, for the type checker
_.model_config  # workflow/core: pydantic reads a model's configuration from it
_.validateLink  # workflow/documents/render.py: markdown-it calls it for every link
_.isolation_level  # workflow/storage/db.py, mail/store.py: set on sqlite3's connection
_.autocommit  # workflow/mail/store.py: set on psycopg's connection
_.impl  # workflow/storage/types.py: a SQLAlchemy TypeDecorator's underlying type
_.cache_ok  # workflow/storage/types.py: tells SQLAlchemy the type may be cached
_.process_bind_param  # workflow/storage/types.py: SQLAlchemy calls it on the way in
_.process_result_value  # workflow/storage/types.py: SQLAlchemy calls it on the way out
_.http_error_301  # workflow/feed/read.py: urllib calls a redirect handler by its status
_.http_error_303  # workflow/feed/read.py: (as above)
_.http_error_307  # workflow/feed/read.py: (as above)
_.http_error_308  # workflow/feed/read.py: (as above)

# Chosen by value, never by name.
_.SIGNOFF_DUE  # states/escalations.py: Anchor("signoff_due"), from a policy file's rule

# Columns: written for the record, read by SQL (exports, backups, people reading the row).
_.retired_at  # workflow/storage/models.py: when an address was retired
_.revoke_reason  # workflow/storage/models.py: why a delegation was ended
_.updated_at  # workflow/storage/models.py: when a response last changed
_.FeedItem  # workflow/storage/models.py: feed_item's class (the feed writes it through Core)

# Documentation kept in code: the docstrings of LinkRefusedError and action_links name it.
_.REFUSALS  # workflow/links/action_links.py: every value LinkRefusedError.why may take

# Read only by tests (the product has no caller): what the tests check the product with.
_.KINDS  # notifications/render.py: every kind of mail (each has its three templates)
_.PARTS  # notifications/render.py: the three templates of a kind
_.render_subject  # notifications/render.py: a kind's subject alone (long-title tests)
_.last_heartbeat  # workflow/escalations/sweep.py: when any scheduler last beat
_.last_report  # workflow/escalations/daemon.py: what the daemon's last sweep did
_.actions  # workflow/links/action_links.py: what a link may do now (LinkView)
_.__class__  # workflow/cli/__init__.py: the package module's class, swapped so `app` loads lazily
_.writable  # workflow/local/caller.py: io.RawIOBase asks it before writing to the stream
_.police_forces_text  # workflow/documents/render.py: read by the response templates
_.recommendations_text  # workflow/documents/render.py: read by the response templates
_.areas_text  # workflow/documents/render.py: read by the response templates
