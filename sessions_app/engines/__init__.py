"""Engines: what a session talks to (WhatsApp through neonize, or the sandbox).

Engines run only inside the session runner; everything else reaches them through
``sessions_app.routing``.
"""
