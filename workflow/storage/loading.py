"""A response loaded with what the guards, mail and documents need, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col

from states import State
from states.guards import AreaView, RecommendationView, Snapshot
from workflow.core.errors import NotFoundError
from workflow.storage.models import AreaForImprovement, InspectionReport, Recommendation, Response
from workflow.storage.rows import built
from workflow.storage.tables import (
    AREA_FOR_IMPROVEMENT,
    INSPECTION_REPORT,
    RECOMMENDATION,
    RESPONSE,
)


@dataclass(frozen=True)
class Loaded:
    """A response with what the guards and mail need, loaded in one transaction."""

    response: Response
    report: InspectionReport
    recommendations: list[Recommendation]
    #: The areas for improvement, by number.
    areas: list[AreaForImprovement] = field(default_factory=list)

    @property
    def state(self) -> State:
        return State(self.response.state)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            pcc_response=self.response.pcc_response,
            recommendations=[
                RecommendationView(r.number, r.force_response, r.pcc_note)
                for r in self.recommendations
            ],
            areas=[AreaView(a.number, a.force_response) for a in self.areas],
            key_findings=self.response.key_findings, cc_response=self.response.cc_response,
            publication_types=self.report.publication_types, report_link=self.report.link,
            response_id=self.response.id or 0,
        )


# Built once (statements with bound parameters): every transition loads its response.
_LOAD = (select(Response, InspectionReport)
         .join(InspectionReport, col(InspectionReport.id) == col(Response.report_id))
         .where(col(Response.id) == bindparam("rid")))
_RECOMMENDATIONS = (select(Recommendation)
                    .where(col(Recommendation.response_id) == bindparam("rid"))
                    .order_by(col(Recommendation.number)))
_AREAS = (select(AreaForImprovement)
          .where(col(AreaForImprovement.response_id) == bindparam("rid"))
          .order_by(col(AreaForImprovement.number)))


def load(session: Session, response_id: int) -> Loaded:
    """A response with its report, recommendations and areas for improvement
    (``NotFoundError`` if absent)."""
    row = session.execute(_LOAD, {"rid": response_id}).first()
    if row is None:
        raise NotFoundError("response", response_id)
    response, report = row
    recs = list(session.scalars(_RECOMMENDATIONS, {"rid": response_id}))
    areas = list(session.scalars(_AREAS, {"rid": response_id}))
    return Loaded(response, report, recs, areas)


# The same reads in Core (column names are the models' attribute names).
_R: Any = RESPONSE
_I: Any = INSPECTION_REPORT
_C: Any = RECOMMENDATION
_A: Any = AREA_FOR_IMPROVEMENT
_SPLIT = len(_R.c)
_READ = (select(*_R.c, *_I.c).join_from(_R, _I, _I.c.id == _R.c.report_id)
         .where(_R.c.id == bindparam("rid")))
_READ_RECOMMENDATIONS = (select(_C).where(_C.c.response_id == bindparam("rid"))
                         .order_by(_C.c.number))
_READ_AREAS = select(_A).where(_A.c.response_id == bindparam("rid")).order_by(_A.c.number)


def read(session: Session, response_id: int) -> Loaded:
    """``load``, as records built from Core rows: the same values, in no session.

    For a transition, which writes the row with its own compare-and-set
    (``workflow.responses.service.bump`` keeps the record in step) and never flushes it; use
    ``load`` to change a response through the session.
    """
    row = session.connection().execute(_READ, {"rid": response_id}).first()
    if row is None:
        raise NotFoundError("response", response_id)
    response = built(Response, dict(zip(_R.c.keys(), row[:_SPLIT], strict=True)))
    report = built(InspectionReport, dict(zip(_I.c.keys(), row[_SPLIT:], strict=True)))
    recs = [built(Recommendation, dict(r._mapping)) for r in
            session.connection().execute(_READ_RECOMMENDATIONS, {"rid": response_id})]
    areas = [built(AreaForImprovement, dict(r._mapping)) for r in
             session.connection().execute(_READ_AREAS, {"rid": response_id})]
    return Loaded(response, report, recs, areas)
