"""hphost serve: the HTTP API, the operators' dashboard and the Espaces (one ASGI application, uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer


def serve_command(
    host: Annotated[str, typer.Option(envvar="HPHOST_SERVE_HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="HPHOST_SERVE_PORT", help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    proxy_headers: Annotated[bool, typer.Option(
        "--proxy-headers/--no-proxy-headers", help="Trust X-Forwarded-For/-Proto from --forwarded-allow-ips.")] = True,
    forwarded_allow_ips: Annotated[str, typer.Option(
        envvar="HPHOST_FORWARDED_ALLOW_IPS", help="Proxies whose X-Forwarded-* headers are trusted.")] = "127.0.0.1",
) -> None:
    """Serve the HTTP API (/v1, OpenAPI at /v1/openapi.json), the dashboard and the Espaces, in the foreground."""
    import uvicorn

    from console.cli_run import wait_for_schema_of

    wait_for_schema_of("serve")
    uvicorn.run("web.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips,
                log_config=None, access_log=False, timeout_graceful_shutdown=10)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
