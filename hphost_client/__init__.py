"""The Python client of hphost's HTTP API: a URL and a token, nothing else of the installation.

    from hphost_client import Client

    with Client("https://hphost.example.net", token) as client:
        job = client.enqueue(planning_id, "load_base", hhyp="base.HHYP", profils="users.profils",
                             idempotency_key="console-click-42")
        job = client.wait(job.id, timeout_s=600)

It imports nothing of the server (the import contract ``client`` in pyproject.toml keeps it so): a back-end
service installs it with httpx2 alone.
"""

from hphost_client.client import Client
from hphost_client.errors import ApiError, WaitTimeout
from hphost_client.job import Job

__all__ = ["ApiError", "Client", "Job", "WaitTimeout"]
