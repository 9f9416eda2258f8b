"""The web side: the ASGI app factory (app.py), the GitHub webhook endpoint (webhooks.py) and the
operations endpoints and metrics (ops.py). Thin: everything it acts on is passed in."""
