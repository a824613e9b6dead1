"""The approvers' and readers' web app (``s55 serve``): a face, like ``cli/``.

Pages for the force liaison and the PCC, reached from the personal links in their mail,
and read-only pages for auditors, the panel and admins after a mailed sign-in. Every
action is one call into the same library as the command line, recorded with channel
``web`` and the link's person as the actor.

``app`` (routes, error pages, security headers) → ``approvers`` (the force's and the
PCC's pages) and ``readers`` (sign-in, the read-only pages) → ``access`` (what a link
opens and acting through it), ``page_data`` (what the pages show), ``verdict`` (the audit
verdict readers see), ``forms`` (strict form reading, CSRF), ``guard`` (headers, the
failed-lookup limit), ``pages`` (the Jinja2 environment), ``context`` (what every handler
needs), ``problems`` (where a refusal's error goes on the page: the fields it marks
and the sections it opens), ``embed`` (the published document inside the PCC's page).
Starlette, uvicorn and itsdangerous are imported only here (uvicorn also by
``cli/serve``). ``logs`` is what ``s55 serve`` logs: every line with the link tokens cut
out.
"""
