"""Settings for the WhatsApp gateway, read from the environment (see README, Configuration)."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from auth_app.jwt_defaults import DEFAULTS as JWT
from gateway.env import env_bool, env_int, env_list, env_mapping, env_str
from gateway.private_files import (
    development_secret_key,
    tighten_data_dir,
    tighten_sqlite_database,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

# The data folder holds the embedded SQLite database and, later, the WhatsApp device
# stores. It is created with owner-only permissions: it holds account keys.
DATA_DIR = Path(env_str("GATEWAY_DATA_DIR") or BASE_DIR / "var").resolve()
DATA_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
# Owner-only, even when the folder or the database file existed with looser modes
# (logged once logging is set up, by gateway.apps).
DATA_DIR_TIGHTENED = tighten_data_dir(DATA_DIR)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE), "
            "or DEBUG=1 for local development only."
        )
    # Development: a random key made on first run and kept in the data folder (0600), so
    # that every process of this checkout agrees on it (the runner's secret derives from
    # it) and nobody else knows it. A key written in the source would be public.
    SECRET_KEY = development_secret_key(DATA_DIR)

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else ["localhost", "127.0.0.1"]
)

INSTALLED_APPS = [
    # First: its runserver (loopback-only with DEBUG) wins over staticfiles'.
    "gateway.apps.GatewayConfig",
    "gateway.admin_site.GatewayAdminConfig",
    "gateway.apps.AccessConfig",  # django.contrib.auth, headed "Staff access" in the admin
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auth_app",
    "sessions_app",
    "groups_app",
    "messages_app",
    "webhooks_app",
]

MIDDLEWARE = [
    # Outermost, so that it sees every response under /api/ last.
    "gateway.request_context.RequestIdMiddleware",
    "gateway.metrics.RequestMetricsMiddleware",
    "gateway.middleware.ApiErrorEnvelopeMiddleware",
    # Before anything that checks the Host header.
    "gateway.middleware.HealthzForAnyHost",
    "gateway.middleware.LargeBodyRoutes",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gateway.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "gateway.wsgi.application"

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'gateway.sqlite3'}"
_database = dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # Two processes (web and runner) write to the embedded database: WAL lets readers
    # and one writer proceed together, IMMEDIATE transactions take the write lock up
    # front (no upgrade deadlock), and the timeout makes a busy writer wait, not fail.
    _database["CONN_MAX_AGE"] = 0
    _database["CONN_HEALTH_CHECKS"] = False
    _database["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("GATEWAY_SQLITE_TIMEOUT", 20),
    }
    if _database["NAME"] and _database["NAME"] != ":memory:":
        DATA_DIR_TIGHTENED += tighten_sqlite_database(Path(_database["NAME"]))
elif _database["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend; the once-per-request health check looks at the socket instead of
    # sending SELECT 1 (gateway/postgresql/base.py).
    _database["ENGINE"] = "gateway.postgresql"
DATABASES = {"default": _database}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "gateway" / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Static files (admin, Swagger UI) are served by the app itself, straight from the
# installed packages, so no collectstatic step is needed in any deployment.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Request bodies over this size are answered 413 payload_too_large (DRF reads JSON
# bodies through request.body, where Django enforces this limit).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("GATEWAY_MAX_BODY_BYTES", 256 * 1024)

# The shared cache: rate-limit counters across every web process.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # Needs its table: `manage.py createcachetable` (make run and the tests do it).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "gateway_cache",
        }
    }

# Per principal (API key or person), per window: "60/minute", "10/second", or "off".
GATEWAY_RATE_LIMITS = {
    "live": env_str("GATEWAY_RATE_LIMIT_LIVE", "60/minute"),
    "read": env_str("GATEWAY_RATE_LIMIT_READ", "600/minute"),
    # Per organization: the participants named by live calls (create, add, remove, …),
    # so that a few maximal calls cannot take what many small ones would be allowed.
    "participants": env_str("GATEWAY_RATE_LIMIT_PARTICIPANTS", "5000/minute"),
    # Per client address: requests without a token, or with one that is refused.
    "anonymous": env_str("GATEWAY_RATE_LIMIT_ANON", "120/minute"),
}

# Live calls one organization may have in flight at once, across every web process (0:
# no cap): beyond it 429, so one tenant holds at most this many web threads on them.
GATEWAY_LIVE_CALLS_PER_ORGANIZATION = env_int("GATEWAY_LIVE_CALLS_PER_ORGANIZATION", 4)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["auth_app.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["auth_app.permissions.HasCapability"],
    "DEFAULT_THROTTLE_CLASSES": ["gateway.throttling.PrincipalRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["gateway.parsers.GatewayJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "gateway.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "NON_FIELD_ERRORS_KEY": "body",
    # OPTIONS answers the allowed methods (the Allow header's list); the OpenAPI schema
    # is the description of the API.
    "DEFAULT_METADATA_CLASS": "gateway.metadata.AllowedMethods",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "WhatsApp Gateway API",
    "DESCRIPTION": (
        "Attach WhatsApp numbers (sessions) to your organization and drive them through "
        "a REST API. Every error uses one envelope: "
        '`{"error": {"code", "message", "details"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "PREPROCESSING_HOOKS": ["gateway.schema.drop_trailing_slash_aliases"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "gateway.schema.enum_names_on_components",
        "gateway.schema.strings_without_nul",
        "gateway.schema.describe_successes",
        "gateway.schema.page_link_examples",
        "webhooks_app.schema.event_bodies",
    ],
    # Relative: the gateway serving this document (paths carry /api/v1).
    "SERVERS": [{"url": "/", "description": "This gateway: the host serving this document."}],
    "CONTACT": {
        key: value
        for key, value in {
            "name": env_str("GATEWAY_API_CONTACT_NAME", "WhatsApp Gateway operators"),
            "email": env_str("GATEWAY_API_CONTACT_EMAIL"),
            "url": env_str("GATEWAY_API_CONTACT_URL"),
        }.items()
        if value
    },
    "TAGS": [
        {
            "name": "Sessions",
            "description": (
                "A session is one WhatsApp number attached to your organization: create it, "
                "pair it by QR or phone code, watch its status, log it out."
            ),
        },
        {
            "name": "Groups",
            "description": (
                "The groups of a connected session: create, list and read (from stored "
                "data), rename, change participants (with WhatsApp's per-number verdict), "
                "invite links, join requests, picture, join and leave."
            ),
        },
        {
            "name": "Messages",
            "description": (
                "Send into groups and chats (text, media, polls, reactions, group invites) "
                "within the session's send budget, and read back what was sent and received "
                "(from stored data)."
            ),
        },
        {
            "name": "Webhooks",
            "description": (
                "Endpoints that receive the organization's events, signed per Standard "
                "Webhooks and retried until delivered; each attempt is listed."
            ),
        },
    ],
    # Enums named for what they are, the same in every generated client.
    "ENUM_NAME_OVERRIDES": {
        "ErrorCode": "gateway.errors.ERROR_CODES",
        "SessionStatus": "sessions_app.status.SESSION_STATUSES",
        "Engine": "sessions_app.status.ENGINES",
        "DeliveryStatus": "webhooks_app.models.DELIVERY_STATUSES",
    },
    # Swagger UI's files are served by the gateway itself, not fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# The session runner (`manage.py runsessions`): the processes holding WhatsApp
# connections. By default one runner listens on this loopback URL (and advertises it);
# web processes find each session's runner by its lease.
GATEWAY_RUNNER_URL = env_str("GATEWAY_RUNNER_URL", "http://127.0.0.1:8001")
GATEWAY_RUNNER_LISTEN = env_str("GATEWAY_RUNNER_LISTEN")
GATEWAY_RUNNER_ADVERTISE_URL = env_str("GATEWAY_RUNNER_ADVERTISE_URL")
GATEWAY_RUNNER_ID = env_str("GATEWAY_RUNNER_ID")
GATEWAY_RUNNER_CAPACITY = env_int("GATEWAY_RUNNER_CAPACITY", 500)
GATEWAY_RUNNER_LEASE_SECONDS = env_int("GATEWAY_RUNNER_LEASE_SECONDS", 15)
# Shared secret between web and runner; by default derived from SECRET_KEY.
GATEWAY_RUNNER_SECRET = env_str("GATEWAY_RUNNER_SECRET")
# Tests only: run the runner's supervisor inside the web process.
GATEWAY_RUNNER_IN_PROCESS = env_bool("GATEWAY_RUNNER_IN_PROCESS", False)

# Webhooks: private/loopback receiver addresses only when allowed (development, tests);
# how long a delivery worker holds a delivery it is sending.
GATEWAY_WEBHOOK_ALLOW_PRIVATE = env_bool("GATEWAY_WEBHOOK_ALLOW_PRIVATE", False)
# The total time one attempt may take (connect, send, status, headers, a capped body).
GATEWAY_WEBHOOK_TIMEOUT_SECONDS = env_int("GATEWAY_WEBHOOK_TIMEOUT_SECONDS", 10)
# A claim on a delivery outlasts its attempt: the deadline plus a margin.
GATEWAY_WEBHOOK_LOCK_SECONDS = env_int(
    "GATEWAY_WEBHOOK_LOCK_SECONDS", GATEWAY_WEBHOOK_TIMEOUT_SECONDS + 10
)
# Attempts in flight at once per endpoint (all workers together on PostgreSQL), and
# sender threads per worker.
GATEWAY_WEBHOOK_ENDPOINT_CONCURRENCY = env_int("GATEWAY_WEBHOOK_ENDPOINT_CONCURRENCY", 4)
GATEWAY_WEBHOOK_SENDERS = env_int("GATEWAY_WEBHOOK_SENDERS", 32)
# Most endpoints one organization may register.
GATEWAY_WEBHOOK_MAX_ENDPOINTS = env_int("GATEWAY_WEBHOOK_MAX_ENDPOINTS", 20)
# Days events and settled deliveries are kept (webhooks_app/retention.py; 0: for ever).
GATEWAY_WEBHOOK_RETENTION_DAYS = env_int("GATEWAY_WEBHOOK_RETENTION_DAYS", 30)

# Prometheus metrics (gateway/metrics.py): GET /metrics needs this bearer token (unset:
# /metrics is off); the runner and the delivery worker serve theirs on HOST:PORT if set.
GATEWAY_METRICS_TOKEN = env_str("GATEWAY_METRICS_TOKEN")
GATEWAY_RUNNER_METRICS_LISTEN = env_str("GATEWAY_RUNNER_METRICS_LISTEN")
GATEWAY_WEBHOOK_METRICS_LISTEN = env_str("GATEWAY_WEBHOOK_METRICS_LISTEN")

# The send budget of whatsapp sessions (sessions_app/send_budget.py): actions that reach
# people per minute and per day, a quarter of it for the first days after pairing.
# Sandbox sessions are unlimited unless a session's own budget is set.
GATEWAY_SEND_BUDGET_PER_MINUTE = env_int("GATEWAY_SEND_BUDGET_PER_MINUTE", 20)
GATEWAY_SEND_BUDGET_PER_DAY = env_int("GATEWAY_SEND_BUDGET_PER_DAY", 1000)
GATEWAY_SEND_WARMUP_DAYS = env_int("GATEWAY_SEND_WARMUP_DAYS", 7)

# Messages (messages_app): the largest media per kind, decoded, and days kept.
GATEWAY_MEDIA_MAX_BYTES = {
    "image": env_int("GATEWAY_MEDIA_MAX_IMAGE_BYTES", 5 * 1024 * 1024),
    "video": env_int("GATEWAY_MEDIA_MAX_VIDEO_BYTES", 16 * 1024 * 1024),
    "audio": env_int("GATEWAY_MEDIA_MAX_AUDIO_BYTES", 16 * 1024 * 1024),
    "document": env_int("GATEWAY_MEDIA_MAX_DOCUMENT_BYTES", 16 * 1024 * 1024),
}
GATEWAY_MESSAGE_RETENTION_DAYS = env_int("GATEWAY_MESSAGE_RETENTION_DAYS", 30)

# Most sessions (attached numbers) one organization may hold.
GATEWAY_MAX_SESSIONS_PER_ORG = env_int("GATEWAY_MAX_SESSIONS_PER_ORG", 50)

# WhatsApp device keys (sessions_app/device_store.py): "" = per-session SQLite files
# under the data folder, or the gateway's own PostgreSQL database when it uses one.
GATEWAY_DEVICE_STORE = env_str("GATEWAY_DEVICE_STORE")

# API keys: how often last_used_at may be written for one key (seconds).
GATEWAY_API_KEY_LAST_USED_INTERVAL = 60
# How long a web process remembers a resolved API key or a login token's organization
# (auth_app/resolution_memory.py): a revoked, expired or deleted key stops working on every
# process within this many seconds. 0: off.
GATEWAY_API_KEY_MEMORY_SECONDS = env_int("GATEWAY_API_KEY_MEMORY_SECONDS", 1)

# Login JWTs minted by the product's frontend (README, "Login JWTs"). With no JWKS URL,
# JWTs are not accepted; API keys work regardless.
GATEWAY_JWT = {
    "JWKS_URL": env_str("GATEWAY_JWT_JWKS_URL", JWT["JWKS_URL"]),
    "ISSUER": env_str("GATEWAY_JWT_ISSUER", JWT["ISSUER"]),
    "AUDIENCE": env_str("GATEWAY_JWT_AUDIENCE", JWT["AUDIENCE"]),
    "ALGORITHMS": env_list("GATEWAY_JWT_ALGORITHMS", JWT["ALGORITHMS"]),
    "LEEWAY": env_int("GATEWAY_JWT_LEEWAY", JWT["LEEWAY"]),
    "ORG_CLAIM": env_str("GATEWAY_JWT_ORG_CLAIM", JWT["ORG_CLAIM"]),
    "ROLE_CLAIM": env_str("GATEWAY_JWT_ROLE_CLAIM", JWT["ROLE_CLAIM"]),
    "ROLE_CAPABILITIES": env_mapping("GATEWAY_JWT_ROLE_CAPABILITIES", JWT["ROLE_CAPABILITIES"]),
    "AUTOPROVISION_ORGS": env_bool("GATEWAY_JWT_AUTOPROVISION_ORGS", JWT["AUTOPROVISION_ORGS"]),
    "JWKS_CACHE_SECONDS": env_int("GATEWAY_JWT_JWKS_CACHE_SECONDS", JWT["JWKS_CACHE_SECONDS"]),
    "JWKS_COOLDOWN_SECONDS": env_int(
        "GATEWAY_JWT_JWKS_COOLDOWN_SECONDS", JWT["JWKS_COOLDOWN_SECONDS"]
    ),
    "JWKS_GRACE_SECONDS": env_int("GATEWAY_JWT_JWKS_GRACE_SECONDS", JWT["JWKS_GRACE_SECONDS"]),
    "JWKS_TIMEOUT_SECONDS": env_int(
        "GATEWAY_JWT_JWKS_TIMEOUT_SECONDS", JWT["JWKS_TIMEOUT_SECONDS"]
    ),
    "DEV_SIGNING": env_bool("GATEWAY_JWT_DEV_SIGNING", JWT["DEV_SIGNING"]),
    "MAX_LIFETIME_SECONDS": env_int("GATEWAY_JWT_MAX_LIFETIME", JWT["MAX_LIFETIME_SECONDS"]),
}

# The DEBUG error page and error reports hide settings and environment variables whose
# names match this filter's pattern: Django's own, plus database, Redis and other URLs,
# which carry passwords.
DEFAULT_EXCEPTION_REPORTER_FILTER = "gateway.debug.SecretHidingExceptionReporterFilter"

# JSON lines with a request id (LOG_FORMAT=text for a terminal).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "gateway.logging.RequestIdFilter"},
        "redact_secrets": {"()": "gateway.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "json": {"()": "gateway.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env_str("LOG_FORMAT", "json"),
            "filters": ["request_id", "redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # The development server's access log, through the same handler (and redaction)
    # instead of Django's own.
    "loggers": {"django.server": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# HTTPS in production (manage.py check --deploy is clean with the defaults). Behind a
# TLS-terminating proxy set TRUST_X_FORWARDED_PROTO=1. Health checks stay on plain HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS starts short (an hour) and for this host only: a mistake in HTTPS is undone within
# the hour. A year, includeSubDomains and preload are an operator's choice, once HTTPS
# holds for every subdomain (preload lists take months to leave): README, "Production".
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# check --deploy's reminders of those two opt-ins (security.W005, W021): documented above.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
