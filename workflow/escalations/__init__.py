"""Escalations: the policy and planning without the ORM (``plan``), firing them once per
(response, rule) (``sweep``), what ``s55 escalations plan``/``list`` show (``listing``)
and the APScheduler wiring (``daemon``, the only module that imports APScheduler). The
default policy is ``policy.toml``.
"""
