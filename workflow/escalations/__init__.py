"""Escalations: the policy and planning without the ORM (``plan``), firing them once per
(response, rule) (``sweep``), what the CLI shows (``views``) and the APScheduler wiring
(``daemon``, the only module that imports APScheduler). The default policy is
``policy.toml``.

May import ``states``, ``notifications``, ``storage``, ``mail`` and the core; never a face.
"""
