"""What the read commands and pages show, through SQLAlchemy Core only (light: no ORM).

``dashboard`` (the open responses behind ``s55 list``, with deadlines and RAG),
``detail`` (one response in full, its state log, the log exported), ``who_can_act``
(whether anyone active can take a response's next step), ``unusable_rows`` (stored values
an older s55 accepted that mail or rendering cannot use).
"""
