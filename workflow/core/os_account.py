"""The operating-system account running this process: the one fact about who is asking
that s55 can know rather than be told. Light on purpose (the standard library only), so the
read commands that never build the ORM classes share it with the audit trail."""

from __future__ import annotations

import os
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_text(value: str, what: str) -> str:
    """``value`` (a name, an address, a login, a reason) without control characters or
    line breaks, which would forge a line of ``s55 log``; stripped."""
    from workflow.core.errors import InvalidInputError

    if _CONTROL.search(value):
        raise InvalidInputError(what, f"{value!r} contains a control character or line break")
    return value.strip()


def os_account() -> str:
    """The effective user of this process, from the system's user database (never from
    ``USER``/``LOGNAME``, which the caller sets as it likes)."""
    import pwd

    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a container uid with no passwd entry
        return f"uid {uid}"
