"""Who is acting: always an active person.

``acting`` finds the person behind a command (the operating-system account, or a claim
where the database allows claims), an admin acting for someone, a deputy under a
delegation; ``rosters`` answers who is active in a role and which delegations run on a day;
``office`` reads the office's own settings, which the database keeps (the force, its name,
the identity mode, separation of duties) and which no environment may loosen.
"""
