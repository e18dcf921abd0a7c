"""Celery tasks: one thin task per stage; the work is in hosting.pipeline."""
