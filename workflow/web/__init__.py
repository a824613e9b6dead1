"""The approvers' and readers' web app (``s55 serve``): a face, like ``cli/``.

Pages for the force liaison and the PCC, reached from the personal links in their mail,
and read-only pages for auditors, the panel and admins after a mailed sign-in. Every
action is one call into the same library as the command line (``Workflow``,
``content``), recorded with channel ``web`` and the link's person as the actor.

A face: may import anything of the library; the library never imports it. Starlette,
uvicorn and itsdangerous are imported only here (and uvicorn by ``cli/serve``). Arrows
inside: ``app`` → ``approvers``/``readers`` → ``access``/``forms``/``pages``. ``logs``
is what ``s55 serve`` logs: every line with the link tokens cut out.
"""
