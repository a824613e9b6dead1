"""People over time, never deleted, and the settings that decide who may act.

``management``: added, given or stripped of roles, disabled and enabled;
``identification``: a name, address or login changed (a signer's new address or login
only when they confirm it); ``delegation``: the PCC's powers handed to a deputy for a
period, by the PCC alone (an admin may only ask); ``requests``: changes that wait for one
person's confirmation from a link mailed to them, and ``confirming``: that person's word
through the link; ``office``: the office's settings recorded by ``s55 init`` and changed by
an admin; ``notices``: the mail each of these changes sends at once. Each change is a
signed audit event carrying the new values.
"""
