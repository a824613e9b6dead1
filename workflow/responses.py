"""A response loaded with what the guards, mail and documents need, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col

from states import State
from states.guards import RecommendationView, Snapshot
from workflow.errors import NotFoundError
from workflow.storage.models import InspectionReport, Recommendation, Response


@dataclass(frozen=True)
class Loaded:
    """A response with what the guards and mail need, loaded in one transaction."""

    response: Response
    report: InspectionReport
    recommendations: list[Recommendation]

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
        )


# Built once (statements with bound parameters): every transition loads its response.
_LOAD = (select(Response, InspectionReport)
         .join(InspectionReport, col(InspectionReport.id) == col(Response.report_id))
         .where(col(Response.id) == bindparam("rid")))
_RECOMMENDATIONS = (select(Recommendation)
                    .where(col(Recommendation.response_id) == bindparam("rid"))
                    .order_by(col(Recommendation.number)))


def load(session: Session, response_id: int) -> Loaded:
    """A response with its report and recommendations (``NotFoundError`` if absent)."""
    row = session.execute(_LOAD, {"rid": response_id}).first()
    if row is None:
        raise NotFoundError("response", response_id)
    response, report = row
    recs = list(session.scalars(_RECOMMENDATIONS, {"rid": response_id}))
    return Loaded(response, report, recs)
