"""The s55 lifecycle: states, triggers, roles, guards and Section 55 date rules (no I/O)."""

from states.deadlines import DEFAULT_MILESTONES, MilestonePolicy, Rag, statutory_deadline
from states.guards import AreaView, Guard, RecommendationView, Snapshot
from states.lifecycle import (
    BY_TRIGGER,
    EDITABLE,
    FINAL,
    PUBLISHED_STATES,
    TRANSITIONS,
    TRIGGERS,
    Param,
    Role,
    State,
    TransitionSpec,
    allowed_triggers,
    triggers_from,
)

__all__ = [
    "BY_TRIGGER",
    "DEFAULT_MILESTONES",
    "EDITABLE",
    "FINAL",
    "PUBLISHED_STATES",
    "TRANSITIONS",
    "TRIGGERS",
    "AreaView",
    "Guard",
    "MilestonePolicy",
    "Param",
    "Rag",
    "RecommendationView",
    "Role",
    "Snapshot",
    "State",
    "TransitionSpec",
    "allowed_triggers",
    "statutory_deadline",
    "triggers_from",
]
