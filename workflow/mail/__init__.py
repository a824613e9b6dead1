"""Mail on the workflow side, in the order a message lives:

- ``recipients``: who gets what (the roles each trigger's mail goes to, their addresses,
  who replies reach);
- ``compose``: each message rendered and checked before anything is written (a
  ``Prepared`` batch, the reader's personal link from a ``LinkIssuer``), and a
  transition's mail;
- ``outbox``: queueing, in the caller's transaction: the outbox rows, the MAIL_QUEUED
  event with their digests, a message dead at once;
- ``store``: the outbox as the ``notifications`` dispatcher drives it (``SqlOutboxStore``:
  claims with personal links filled in, the "sent" record, audited sends, retry or dead
  after a failed send and the admins' alert);
- ``delivery``: running the dispatcher (``s55 mail send``, the daemon's loop, the lock);
- ``outbox_admin``: the outbox as the CLI lists, shows and retries it, the test send;
- ``digest``: what the signed log says of a row (what it queued, whether it went already:
  the dispatcher never sends a message twice, whatever its status column says);
- ``errors``: ``MailError`` and its kinds.

Arrows inside point down this order, never up: ``delivery`` → ``store``, ``outbox_admin``
→ ``outbox`` → ``compose`` → ``recipients`` → ``errors``, ``digest``.
"""
