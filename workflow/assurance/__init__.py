"""What proves the record whole, without trusting the database alone.

``replay`` rebuilds every response from its events and names each row that disagrees
(``difference``), with ``people_log`` (people and delegations) and ``link_log`` (personal
links issued, mail sent) doing the same for the rows beside responses the log decides;
``checkpoints`` keeps the chain's head outside the database (mailed and filed) and proves
it against the log, ``backup`` copies the embedded database and checks that a copy
restores with its chain whole. ``full_check`` is the one full check (the chain, its
signatures and every row against its replay) that ``s55 audit verify`` and the auditor's
report both state.
"""
