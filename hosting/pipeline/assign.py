"""Stage *assign*: users and authorisations of a .profils into the Contrôleur.

The upserts run in the transaction that records the stage as done, so the
Controller changes exactly once however often the message is delivered.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hosting.controller import assign_profils
from hosting.formats.profils.file import read_profils
from hosting.jobs.kinds import input_key
from hosting.pipeline.context import StageContext, StageOutcome
from hosting.pipeline.errors import InputMissing
from hosting.sealing import Sealer, secret_key


def assign(ctx: StageContext) -> StageOutcome:
    claim = ctx.claim
    key = input_key(claim.kind, claim.job_id, claim.params, "profils_key")
    if ctx.store.head(key) is None:
        raise InputMissing(key=key, where={"key": key})
    with ctx.store.open_read(key) as source:
        profils = read_profils(source, limits=ctx.settings.limits)
    ctx.checkpoint()
    sealer = Sealer(secret_key(ctx.settings))
    outcome = StageOutcome(result={"users": len(profils.users), "profiles": len(profils.profiles)})

    def apply(session: Session) -> None:
        report = assign_profils(session, hosting_number=claim.hosting_number,
                                planning_id=claim.planning_id, profils=profils, job_id=claim.job_id,
                                sealer=sealer, prune=bool(claim.params.get("prune")))
        outcome.result.update(report.as_dict())

    outcome.apply = apply
    return outcome
