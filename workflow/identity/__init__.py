"""Who is acting: always an active person.

``acting`` finds the person behind a command (the operating-system account, or a claim
where the database allows claims), an admin acting for someone, a deputy under a
delegation; ``rosters`` answers who is active in a role and which delegations run on a day.
"""
