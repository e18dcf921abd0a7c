"""Stage *decrypt*, the first of a restore: the chosen backup's objects decrypted (and their digests
checked) into ``restores/<job-id>/``, where *unpack* and *assign* read them as a load reads its uploads.
They are deleted once the restore has succeeded (a failed one keeps them for ``jobs retry``)."""

from __future__ import annotations

import json
import tempfile

from hosting.backups.crypto import backup_keys
from hosting.backups.verify import HHYP, PROFILS, decrypt_to
from hosting.db.models import Backup
from hosting.errors import NotFound
from hosting.jobs.kinds import RESTORED_INPUTS, RESTORES_ROOT, job_prefix
from hosting.pipeline.context import StageContext, StageOutcome
from hosting.pipeline.markers import DONE


def decrypt(ctx: StageContext) -> StageOutcome:
    claim = ctx.claim
    prefix = job_prefix(RESTORES_ROOT, claim.job_id)
    if ctx.store.head(prefix + DONE) is not None:
        return StageOutcome(result=json.loads(ctx.store.get_bytes(prefix + DONE)), skipped=True,
                            skip_reason="already_done")
    backup_id = claim.params["backup_id"]
    with ctx.db.transaction() as session:
        row = session.get(Backup, backup_id)
        if row is None or row.state != "verified":
            raise NotFound(kind="Verified backup", ident=backup_id, where={"backup_id": backup_id})
        objects, key_id = dict(row.objects), row.key_id
    ctx.store.delete_prefix(prefix)
    keys = backup_keys(ctx.settings)
    for name, target in ((HHYP, RESTORED_INPUTS["hhyp_key"]), (PROFILS, RESTORED_INPUTS["profils_key"])):
        with tempfile.TemporaryFile(prefix="hphost-restore-") as clear:
            decrypt_to(ctx.store, keys, objects[name], clear)
            size = clear.tell()
            clear.seek(0)
            ctx.store.put_stream(prefix + target, clear, size)
        ctx.checkpoint()
    result = {"backup_id": backup_id, "key_id": key_id}
    ctx.store.put_bytes(prefix + DONE, json.dumps(result, sort_keys=True).encode())
    return StageOutcome(result=result)
