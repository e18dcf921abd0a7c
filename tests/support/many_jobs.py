"""100,000 jobs and 400,000 stage rows in a PostgreSQL control database, in one INSERT ... SELECT each.

Jobs every 30 s back from now (about 35 days), over 200 plannings of one hosting: one active job per planning
for the newest 200 (queued or running, the database allows no more), then 90 % succeeded, 8 % failed (three
error codes, each at its own stage), 2 % cancelled. For the dashboard's scale test and bench/dashboard.py.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

HOSTING = "123456789012"
_PLANNINGS = """
INSERT INTO hostings (number, name, password_hash, created_at) VALUES (:hosting, 'bench', 'x', now());
INSERT INTO plannings (id, hosting_number, name, controller_domain, associate_net, domain, time_zone,
                       base_generation, created_at, updated_at)
SELECT 'p' || n, :hosting, 'EDT ' || n, 'ctl.example.edu', true, 'edt' || n || '.example.edu', 'Europe/Paris',
       0, now(), now() FROM generate_series(0, 199) n;
"""
_JOBS = """
INSERT INTO jobs (id, kind, planning_id, hosting_number, state, fence, params, requested_by, cancel_requested,
                  error_code, created_at, started_at, finished_at)
SELECT md5(i::text), (ARRAY['create_base', 'load_base', 'assign_profils'])[i % 3 + 1], 'p' || (i % 200),
       :hosting, s.state, 0, '{}', 'bench', false,
       CASE WHEN s.state = 'failed'
            THEN (ARRAY['STORAGE_UNAVAILABLE', 'TRANSIENT_EXHAUSTED', 'HHYP_CORRUPT'])[i % 3 + 1] END,
       now() - i * interval '30 seconds', now() - i * interval '30 seconds' + interval '1 second',
       CASE WHEN s.state NOT IN ('queued', 'running')
            THEN now() - i * interval '30 seconds' + interval '20 seconds' END
FROM generate_series(0, :count - 1) i,
     LATERAL (SELECT CASE WHEN i < 200 THEN (CASE WHEN i % 2 = 0 THEN 'queued' ELSE 'running' END)
                          WHEN i % 50 = 7 THEN 'cancelled' WHEN i % 25 IN (1, 2) THEN 'failed'
                          ELSE 'succeeded' END AS state) s;
"""
_STAGES = """
INSERT INTO stages (job_id, name, position, state, attempts, deliveries, dispatches, progress_done, progress_total,
                    due_at, started_at, finished_at, lease_owner, lease_expires_at)
SELECT j.id, (ARRAY['unpack', 'instantiate', 'publish', 'assign'])[p + 1], p,
       CASE j.state WHEN 'succeeded' THEN 'succeeded' WHEN 'cancelled' THEN 'cancelled'
            WHEN 'failed' THEN (CASE WHEN p < ascii(j.id) % 3 THEN 'succeeded'
                                     WHEN p = ascii(j.id) % 3 THEN 'failed' ELSE 'pending' END)
            ELSE (CASE WHEN p = 0 THEN j.state ELSE 'pending' END) END,
       0, 1, 1, 0, 0, CASE WHEN p = 0 THEN j.created_at END, j.started_at, j.finished_at,
       CASE WHEN j.state = 'running' AND p = 0 THEN 'bench:1:x' END,
       CASE WHEN j.state = 'running' AND p = 0 THEN now() + interval '10 seconds' END
FROM jobs j, generate_series(0, 3) p;
"""


def seed(engine: Engine, count: int = 100_000) -> None:
    """Fill an empty, migrated control database; ANALYZE it as autovacuum would have by then."""
    with engine.begin() as conn:
        for statement in _PLANNINGS.split(";")[:2]:
            conn.execute(text(statement), {"hosting": HOSTING})
        conn.execute(text(_JOBS), {"hosting": HOSTING, "count": count})
        conn.execute(text(_STAGES))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
