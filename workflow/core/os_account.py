"""The operating-system account asking: the one fact about who is asking that s55 can know
rather than be told. Light on purpose (the standard library only), so the read commands that
never build the ORM classes share it with the audit trail.

It is the effective user of this process, except in a process the local service started
for one caller: there it is the account the kernel named as the peer of the caller's socket
(``SO_PEERCRED``), set once by ``serve_caller`` before the caller's command runs.
"""

from __future__ import annotations

import os
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_text(value: str, what: str) -> str:
    """``value`` (a name, an address, a login, a reason) without control characters or
    line breaks, which would forge a line of ``s55 log``, nor invisible or
    direction-changing characters, which would make it read otherwise; stripped."""
    from workflow.core.characters import check_visible
    from workflow.core.errors import InvalidInputError

    if _CONTROL.search(value):
        raise InvalidInputError(what, f"{value!r} contains a control character or line break")
    return check_visible(value, what).strip()


#: The caller's account in a process serving one caller of the local service, else None.
_caller: str | None = None


def account_of(uid: int) -> str:
    """The name of the account ``uid`` in the system's user database (``uid N`` for a
    container uid with no entry)."""
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def os_account() -> str:
    """The account asking: the effective user of this process (from the system's user
    database, never from ``USER``/``LOGNAME``, which the caller sets as it likes), or the
    caller the kernel named in a process serving one caller of the local service."""
    return _caller if _caller is not None else account_of(os.geteuid())


def serve_caller(uid: int) -> str:
    """Make the account ``uid`` (the kernel's word for the peer of a socket) the account
    asking, for the rest of this process; its name."""
    global _caller
    _caller = account_of(uid)
    return _caller


def serving_caller() -> bool:
    """Whether this process serves one caller of the local service (whose commands are
    always identified by their operating-system account, whatever a setting says)."""
    return _caller is not None
