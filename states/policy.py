"""The escalation policy as data: ``[[rule]]`` tables (parsed TOML) checked into a ``Policy``.

Every problem is one ``PolicyRuleError`` naming the rule; ``workflow`` reads the file and
adds its name. No I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from states.escalations import SEVERITIES, Anchor, Policy, Rule
from states.lifecycle import FINAL, PUBLISHED_STATES, Role, State, can_be_told

MAX_OFFSET_DAYS = 366
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,59}$")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


class PolicyRuleError(ValueError):
    """One thing wrong with one rule of a policy (``workflow`` adds the file name)."""

    def __init__(self, rule: str, problem: str) -> None:
        self.rule, self.problem = rule, problem
        super().__init__(f"rule {rule}: {problem}")


_REQUIRED = ("id", "offset_days", "states", "notify", "severity", "template")
_OPTIONAL = ("from", "cc", "repeat_every_days", "summary")


def _names(values: Iterable[str]) -> str:
    return ", ".join(values)


def _list_of(raw: Any, enum: type[StrEnum], what: str, rule: str) -> tuple[Any, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise PolicyRuleError(rule, f"{what} must be a list of names")
    known = {m.value: m for m in enum}
    for v in raw:
        if v not in known:
            raise PolicyRuleError(rule, f"unknown {what[:-1]} {v!r} ({what}: {_names(known)})")
    if len(set(raw)) != len(raw):
        raise PolicyRuleError(rule, f"{what} lists a name twice")
    return tuple(known[v] for v in raw)


def _int(raw: Any, what: str, rule: str, lo: int, hi: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
        raise PolicyRuleError(rule, f"bad {what} {raw!r}: a whole number from {lo} to {hi}")
    return raw


def _check_keys(raw: Mapping[str, Any], name: str) -> None:
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise PolicyRuleError(name, f"unknown key {unknown[0]!r} (keys: "
                                  f"{_names(_REQUIRED + _OPTIONAL)})")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise PolicyRuleError(name, f"missing {missing[0]!r}")


def _states(raw: Any, name: str) -> frozenset[State]:
    states = _list_of(raw, State, "states", name)
    if not states:
        raise PolicyRuleError(name, "states is empty: the rule could never fire")
    final = [s.value for s in states if s in FINAL]
    if final:
        raise PolicyRuleError(name, f"state {final[0]} is final: there is nothing to escalate")
    return frozenset(states)


def _anchor(raw: Any, name: str) -> Anchor:
    if raw not in {a.value for a in Anchor}:
        raise PolicyRuleError(name, f"unknown milestone from = {raw!r} (milestones: "
                                  f"{_names(a.value for a in Anchor)})")
    return Anchor(raw)


def _roles(raw: Mapping[str, Any], states: frozenset[State], name: str
           ) -> tuple[tuple[Role, ...], tuple[Role, ...]]:
    """``notify`` and ``cc``: somebody, and nobody who could never be told in the rule's
    states (a force liaison of a rule for drafts only)."""
    roles = _list_of(raw["notify"], Role, "roles", name)
    if not roles:
        raise PolicyRuleError(name, "notify is empty: nobody would be told")
    cc = _list_of(raw.get("cc", []), Role, "roles", name)
    for role in roles + cc:
        if not any(can_be_told(role, s) for s in states):
            raise PolicyRuleError(name, f"{role.value} can act in none of its states "
                                  f"({_names(s.value for s in State if s in states)}), "
                                  "so would never be told")
    return roles, cc


def _rule(raw: Any, position: int) -> Rule:
    name = f"#{position}"
    if not isinstance(raw, Mapping):
        raise PolicyRuleError(name, "is not a table ([[rule]] with keys)")
    rule_id = raw.get("id")
    if isinstance(rule_id, str) and _ID.match(rule_id):
        name = repr(rule_id)
    _check_keys(raw, name)
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise PolicyRuleError(name, f"bad id {rule_id!r}: lower-case letters, digits, '-', '_', "
                                  "'.', at most 60")
    anchor = _anchor(raw.get("from", "deadline"), name)
    states = _states(raw["states"], name)
    if anchor is Anchor.PUBLISHED_ON and not states <= PUBLISHED_STATES:
        raise PolicyRuleError(name, "counts from published_on but applies before publication")
    roles, cc = _roles(raw, states, name)
    severity = raw["severity"]
    if severity not in SEVERITIES:
        raise PolicyRuleError(name, f"unknown severity {severity!r} (severities: "
                                  f"{_names(SEVERITIES)})")
    kind = raw["template"]
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise PolicyRuleError(name, f"bad template name {kind!r}")
    repeat = raw.get("repeat_every_days")
    summary = raw.get("summary", "")
    if not isinstance(summary, str):
        raise PolicyRuleError(name, "summary must be text")
    return Rule(
        id=rule_id, anchor=anchor, states=states, roles=roles, severity=severity, kind=kind,
        offset_days=_int(raw["offset_days"], "offset_days", name, -MAX_OFFSET_DAYS,
                         MAX_OFFSET_DAYS),
        cc=cc,
        repeat_days=None if repeat is None else _int(repeat, "repeat_every_days", name, 1,
                                                     MAX_OFFSET_DAYS),
        summary=summary.strip(),
    )


def parse_policy(data: Mapping[str, Any]) -> Policy:
    """Build a policy from parsed TOML (``[[rule]]`` tables); raises ``PolicyRuleError``."""
    extra = sorted(set(data) - {"rule"})
    if extra:
        raise PolicyRuleError("(top level)", f"unknown key {extra[0]!r}: rules are [[rule]] tables")
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise PolicyRuleError("(top level)", "no [[rule]] tables")
    rules: list[Rule] = []
    for i, raw in enumerate(raw_rules, start=1):
        rule = _rule(raw, i)
        if any(r.id == rule.id for r in rules):
            raise PolicyRuleError(repr(rule.id), f"duplicate id (rule #{i})")
        rules.append(rule)
    return Policy(tuple(rules))
