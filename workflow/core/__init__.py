"""The core every other package stands on: standard-library-light helpers with no
database.

``errors`` (the one root, ``S55Error``, and every error a user can cause), ``clock`` (the
injected clock and London's calendar day), ``settings`` (the ``S55_*`` settings through
pydantic-settings) and ``light_settings`` (the same names read without pydantic, for the
read commands), ``key_path`` (where the audit key file is), ``dates`` (dates as documents
write them), ``bank_holidays`` (working days in England and Wales), ``checks`` (every
value a user types, checked at the door), ``limits`` (the length of each free-text field),
``characters`` (the invisible and direction-changing characters no free-text field
takes), ``nesting`` (TOML and YAML read with their nesting bounded), ``files`` (files read
with a byte limit, written whole), ``os_account`` (the account asking: this process's, or
the local service's caller).
"""
