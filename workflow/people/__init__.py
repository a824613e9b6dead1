"""People over time, never deleted.

``management``: added, edited, given or stripped of roles, disabled and enabled, and the
PCC's sign-off delegated to a deputy for a period; each change an audited event, the
changes that matter mailed to those who must know.
"""
