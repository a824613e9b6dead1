"""The workflow's mail errors: one root, ``MailError``, under ``S55Error``."""

from __future__ import annotations

from pathlib import Path

from notifications.errors import NotificationError
from workflow.core.errors import S55Error


class MailError(S55Error):
    """Root of the workflow's mail errors."""


class RecipientsMissingError(MailError):
    """Nobody holds a role a message must go to; the trigger is refused."""

    def __init__(self, action: str, role: str) -> None:
        self.action, self.role = action, role
        super().__init__(f"cannot {action}: nobody holds the role {role} to receive its mail; "
                         f"add a person with that role first")


class MailRefusedError(MailError):
    """A message could not be built (header injection, template error)."""

    def __init__(self, action: str, problem: NotificationError) -> None:
        self.action, self.problem = action, problem
        super().__init__(f"cannot {action}: {problem}")


class OutboxStateError(MailError):
    def __init__(self, outbox_id: int, status: str, action: str) -> None:
        self.outbox_id, self.status = outbox_id, status
        super().__init__(f"cannot {action} outbox message {outbox_id} while it is {status}")


class UnusableAddressError(MailError):
    """A retry of a message whose recipient mail cannot carry: it would only die again."""

    def __init__(self, outbox_id: int, recipient: str, why: str) -> None:
        self.outbox_id, self.recipient = outbox_id, recipient
        super().__init__(f"outbox message {outbox_id} cannot be retried: its address "
                         f"{recipient!r} is unusable ({why}); correct the person's address "
                         "with `s55 people edit EMAIL --email NEW --reason ...` so that their "
                         "next mail reaches them, and tell them of this one yourself")


class RefusedRetryError(MailError):
    """A retry of a message the dispatcher refuses to send (it no longer matches what the
    log queued): retried, it would only be refused again, and the admins alerted again."""

    def __init__(self, outbox_id: int, why: str) -> None:
        self.outbox_id, self.why = outbox_id, why
        super().__init__(f"outbox message {outbox_id} cannot be retried: it stays dead, "
                         f"{why.removeprefix('refused: ')}; `s55 audit verify` shows what "
                         "changed")


class DispatcherLockedError(MailError):
    def __init__(self, lock: Path, holder: str) -> None:
        self.lock, self.holder = lock, holder
        super().__init__(f"another mail dispatcher ({holder}) holds {lock}; only one may run "
                         "against a SQLite database")


class MailTestError(MailError):
    """The test message was not sent: to whom, through what, and why not, in one line."""

    def __init__(self, address: str, problem: str, via: str = "") -> None:
        self.address, self.problem = address, problem
        through = f" via {via}" if via else ""
        super().__init__(f"test mail to {address}{through} not sent: {problem}")
