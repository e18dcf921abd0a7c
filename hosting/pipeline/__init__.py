"""The stages' domain work, free of Celery: each takes a StageContext, returns a StageOutcome."""
