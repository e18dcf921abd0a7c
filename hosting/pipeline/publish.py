"""Stage *publish*: the HYPERPLANNING.net Espaces of the new base.

Skipped (and the skip audited) when the planning is not associated with
HYPERPLANNING.net. The publication goes live with the base: it names the base,
and the base goes into service only when the whole job has succeeded.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from hosting.db.models import Planning, Publication
from hosting.espace_accounts import people, sync_accounts
from hosting.espaces import LAYOUT, build_read_models
from hosting.jobs.kinds import base_prefix
from hosting.pipeline.context import StageContext, StageOutcome
from hosting.pipeline.markers import PUBLISHED
from hosting.sealing import Sealer, secret_key


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
    marker, already = _read_models(ctx, base_id)
    espaces = marker["espaces"]
    persons, sealer = people(ctx.basedbs, base_id), Sealer(secret_key(ctx.settings))
    result = {"domain": domain, "publication_name": publication_name, "espaces": espaces}

    def apply(session: Session) -> None:
        row = session.get(Publication, base_id) or Publication(base_id=base_id)
        row.planning_id, row.domain, row.publication_name = claim.planning_id, domain, publication_name
        row.espaces = sorted(espaces)
        session.add(row)
        report = sync_accounts(session, planning_id=claim.planning_id,
                               hosting_number=claim.hosting_number, persons=persons, sealer=sealer)
        result["accounts"] = report.__dict__

    if already:
        return StageOutcome(result=result, skipped=True, skip_reason="already_done", apply=apply)
    return StageOutcome(result=result, apply=apply)


def _read_models(ctx: StageContext, base_id: str) -> tuple[dict[str, Any], bool]:
    """The committed marker's content (and True), or the read models built now and their marker written last."""
    prefix = base_prefix(base_id)
    if ctx.store.head(prefix + PUBLISHED) is not None:
        marker: dict[str, Any] = json.loads(ctx.store.get_bytes(prefix + PUBLISHED))
        if marker.get("layout") == LAYOUT:
            return marker, True
    ctx.store.delete_prefix(prefix + "espaces/")  # a half-made build, or an older layout
    ctx.checkpoint()
    total = ctx.basedbs.counts(base_id).get("courses", 0)

    def checkpoint(courses_done: int) -> None:
        ctx.checkpoint()
        ctx.progress(courses_done, total)

    marker = build_read_models(ctx.basedbs, base_id, ctx.store, checkpoint)
    ctx.store.put_bytes(prefix + PUBLISHED, json.dumps(marker, sort_keys=True).encode())
    return marker, False
