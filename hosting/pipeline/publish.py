"""Stage *publish*: the HYPERPLANNING.net Espaces of the new base.

Skipped (and the skip audited) when the planning is not associated with
HYPERPLANNING.net. The publication goes live with the base: it names the base,
and the base goes into service only when the whole job has succeeded.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from hosting.db.models import Planning, Publication
from hosting.espaces import build_read_models
from hosting.jobs.kinds import base_prefix
from hosting.pipeline.context import StageContext, StageOutcome
from hosting.pipeline.markers import PUBLISHED


def publish(ctx: StageContext) -> StageOutcome:
    claim = ctx.claim
    base_id = claim.base_id or ""
    with ctx.db.transaction() as session:
        planning = session.get(Planning, claim.planning_id)
        assert planning is not None
        associated, domain = planning.associate_net, planning.domain
        publication_name = planning.effective_publication_name
    if not associated:
        return StageOutcome(result={"associate_net": False}, skipped=True, skip_reason="not_associated")
    prefix = base_prefix(base_id)
    already = ctx.store.head(prefix + PUBLISHED) is not None
    if already:
        marker = json.loads(ctx.store.get_bytes(prefix + PUBLISHED))
    else:
        ctx.store.delete_prefix(prefix + "espaces/")
        ctx.checkpoint()
        total = ctx.basedbs.counts(base_id).get("courses", 0)

        def checkpoint(courses_done: int) -> None:
            ctx.checkpoint()
            ctx.progress(courses_done, total)

        marker = build_read_models(ctx.basedbs, base_id, ctx.store, checkpoint)
        ctx.store.put_bytes(prefix + PUBLISHED, json.dumps(marker, sort_keys=True).encode())
    espaces = marker["espaces"]

    def apply(session: Session) -> None:
        row = session.get(Publication, base_id) or Publication(base_id=base_id)
        row.planning_id, row.domain, row.publication_name = claim.planning_id, domain, publication_name
        row.espaces = sorted(espaces)
        session.add(row)

    result = {"domain": domain, "publication_name": publication_name, "espaces": espaces}
    if already:
        return StageOutcome(result=result, skipped=True, skip_reason="already_done", apply=apply)
    return StageOutcome(result=result, apply=apply)
