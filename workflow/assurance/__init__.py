"""What proves the record whole, without trusting the database alone.

``replay`` rebuilds every response from its events and names each row that disagrees,
``checkpoints`` keeps the chain's head outside the database (mailed and filed) and proves
it against the log, ``backup`` copies the embedded database and checks that a copy
restores with its chain whole.
"""
