"""What proves the record whole, without trusting the database alone.

``replay`` rebuilds every response from its events and names each row that disagrees
(``difference``), with ``people_log`` (people and delegations) and ``link_log`` (personal
links issued, mail sent) doing the same for the rows beside responses the log decides;
``checkpoints`` keeps the chain's head outside the database (mailed and filed) and proves
it against the log, ``backup`` copies the embedded database and checks that a copy
restores with its chain whole.
"""
