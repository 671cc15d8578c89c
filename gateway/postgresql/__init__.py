"""Django's PostgreSQL backend with a health check that costs no round trip
(``DATABASES["default"]["ENGINE"] = "gateway.postgresql"``; see ``base.py``)."""
