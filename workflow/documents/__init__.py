"""Response documents in the published layout: read, rendered and fingerprinted.

Reading a document: ``blocks`` (top-level Markdown blocks and the headings that matter)
→ ``recs`` (a recommendation's due date and its repetition) and ``office`` (the "For
Office Use Only" checklist) → ``parse``, into ``model`` (plain data). These read text
only: no database, no templates. ``render`` turns a response back into the published
document (Markdown or a standalone HTML page, templates in ``templates/``);
``signature`` is the fingerprint of that text, which a sign-off binds; ``signoff`` reads
who signed a response off from its events. Importing a document into the database is
``workflow.responses.importing``. The reference layout is a real published response,
``tests/data/norfolk-asb-spotlight-2024.md``.
"""
