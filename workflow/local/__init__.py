"""The local service: officers' ``s55`` commands run by the service account, as the caller.

On a shared server one service account holds the database credentials, the audit key and
the web secret; officers' accounts hold none of them. ``s55 serve`` and ``s55 run`` listen
on a Unix socket (``S55_SOCKET``) that only the group ``S55_SOCKET_GROUP`` may open, and
the ``s55`` command of an officer with ``S55_SOCKET`` set hands every command to them. The
service learns who is calling from the kernel, never from anything the caller sends.

``listener`` makes the socket safely (or takes systemd's); ``server`` is the warm process
that waits on it and forks a process per command; ``caller`` is that process becoming the
caller's (their account, their terminal, their files through the client) and running the
command; ``client`` is the officer's side, light enough to start in a blink; ``protocol``
is the wire between them.

A face, like the command line it carries: it knows nothing of Typer (the command line
hands the server the function that runs a command).
"""
