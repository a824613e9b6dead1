"""Personal single-use links, mailed to the person asked to act.

``action_links`` issues a link with the mail that asks for the act, checks a presented
token against the key and the row, and uses it up when the act is done; ``issued`` records
every link in a signed event as it is issued and proves a presented link against that
record (the row alone proves nothing).
"""
