"""The HTTP front doors, one ASGI application: the API (``/v1``), the operators' dashboard and the Espaces."""
