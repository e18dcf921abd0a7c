"""Backups of bases: encryption at rest, the backup rows, nightly schedules and retention."""
