"""One env-driven settings module.

Without ``DATABASE_URL`` linli runs the embedded demo: SQLite in ``data/`` of the
project. With it (``postgres://…``) the same code runs on PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("LINLI_DATA_DIR", BASE_DIR / "data"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
# The fallback key is only good for the local demo; production sets SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY", "linli-demo-only-not-secret-change-me-in-production")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Third-party apps under the product's own names in the admin (linli.core.apps).
    "linli.core.apps.AxesConfig",
    "django_htmx",
    "django_tasks",
    "linli.core.apps.TasksDatabaseConfig",
    "linli.core",
    "linli.network",
    "linli.people",
    "linli.teams",
    "linli.notify",
    "linli.orders",
    "linli.dispatch",
    "linli.open311",
    "linli.activities",
    "linli.demo",
    "linli.site",
]

MIDDLEWARE = [
    "linli.core.logging.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "linli.core.security.SecurityHeadersMiddleware",
    "linli.core.boundary.InputBoundaryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "linli.core.middleware.UserLanguageMiddleware",
    "linli.core.middleware.AppErrorMiddleware",
    # Last, so that it sees the outcome of every authentication attempt.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "linli.urls"
WSGI_APPLICATION = "linli.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "linli.core.context_processors.roles",
                "linli.notify.context_processors.inbox",
            ],
        },
    }
]


def _database() -> dict[str, Any]:
    """One configuration per engine, however the database is chosen.

    SQLite (the demo, or ``DATABASE_URL=sqlite:///…``): WAL, so readers never
    wait for the writer; a busy timeout, so a writer waits for the lock
    instead of failing; and the write lock taken at BEGIN (IMMEDIATE), so
    two transactions never deadlock upgrading theirs. PostgreSQL: a
    connection per request unless ``LINLI_DB_CONN_MAX_AGE`` says otherwise --
    a thread-per-request server (the development server) would otherwise
    keep one open per thread it ever ran; ``linli serve``'s sync workers,
    one request at a time each, keep theirs for a minute.
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        db: dict[str, Any] = dict(dj_database_url.parse(url))
    else:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA_DIR / "linli.sqlite3")}
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["OPTIONS"] = {
            **db.get("OPTIONS", {}),
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        db["CONN_MAX_AGE"] = 0
    else:
        db["CONN_MAX_AGE"] = int(os.environ.get("LINLI_DB_CONN_MAX_AGE", "0"))
        db["CONN_HEALTH_CHECKS"] = db["CONN_MAX_AGE"] > 0
    return db


DATABASES = {"default": _database()}

# The API's lists: ?limit= at most this (the OpenAPI says so), 100 by default.
NINJA_PAGINATION_MAX_LIMIT = 100
NINJA_PAGINATION_PER_PAGE = 100

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout after repeated failed logins (django-axes): five failures for one
# username from one address lock it for fifteen minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "linli.core.views.locked_out"
AXES_VERBOSE = False
# A password reset code sent by SMS: valid this many seconds, void after this
# many wrong tries; a new request replaces it.
LINLI_RESET_CODE_TTL = int(os.environ.get("LINLI_RESET_CODE_TTL", "600"))
LINLI_RESET_CODE_ATTEMPTS = int(os.environ.get("LINLI_RESET_CODE_ATTEMPTS", "5"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "linli" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Set for collectstatic in production; the demo serves from the apps via WhiteNoise.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# The demo and development read the files as they are now (an edited
# stylesheet is served whole); production serves the collected, fixed files.
WHITENOISE_AUTOREFRESH = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("LINLI_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Notification channels (linli.notify.channels), dotted paths: the inbox
# always; the console for the demo and development (not in production, where
# nobody reads a worker's stdout for messages); the webhook (the city's SMS
# gateway) when LINLI_NOTIFY_WEBHOOK_URL is set.
LINLI_NOTIFY_WEBHOOK_URL = os.environ.get("LINLI_NOTIFY_WEBHOOK_URL", "")
# Sent as "Authorization: Bearer …" when set.
LINLI_NOTIFY_WEBHOOK_TOKEN = os.environ.get("LINLI_NOTIFY_WEBHOOK_TOKEN", "")
LINLI_NOTIFY_WEBHOOK_TIMEOUT = float(os.environ.get("LINLI_NOTIFY_WEBHOOK_TIMEOUT", "10"))
LINLI_NOTIFY_CHANNELS = [
    c
    for c in os.environ.get(
        "LINLI_NOTIFY_CHANNELS",
        "linli.notify.channels.InboxChannel"
        + ("" if env_bool("LINLI_PRODUCTION", False) else ",linli.notify.channels.ConsoleChannel")
        + (",linli.notify.channels.WebhookChannel" if LINLI_NOTIFY_WEBHOOK_URL else ""),
    ).split(",")
    if c
]
# A failed delivery is tried again after 30 s, 60 s, 120 s … (at most an
# hour apart), and given up after this many attempts, its last error kept.
LINLI_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("LINLI_NOTIFY_MAX_ATTEMPTS", "8"))
LINLI_NOTIFY_RETRY_BACKOFF = float(os.environ.get("LINLI_NOTIFY_RETRY_BACKOFF", "30"))
LINLI_NOTIFY_RETRY_MAX_WAIT = 3600.0
# How long a worker's claim on a delivery lasts (seconds): far longer than the
# webhook's timeout, so only a worker that died mid-send loses its claim.
LINLI_NOTIFY_LEASE = max(300.0, 3 * LINLI_NOTIFY_WEBHOOK_TIMEOUT)
# How often the worker looks for deliveries whose job was lost or is due again.
LINLI_NOTIFY_SWEEP_INTERVAL = int(os.environ.get("LINLI_NOTIFY_SWEEP_INTERVAL", "60"))
# How many days ahead a resident may want a service (an order's wanted time window).
LINLI_WINDOW_MAX_DAYS = int(os.environ.get("LINLI_WINDOW_MAX_DAYS", "90"))
# Dispatch engine cost weights (1 unit = 1 km of travel): per open order a
# member holds, per order taken this week, per rating point below 5.
LINLI_DISPATCH_WEIGHTS = {"per_km": 1.0, "load": 0.5, "week_load": 0.2, "rating": 1.0}
# None: dispatch stays inside a community. A number: the city allows crossing
# community lines, at that penalty (in km).
LINLI_DISPATCH_CROSS_COMMUNITY: float | None = (
    float(os.environ["LINLI_DISPATCH_CROSS_COMMUNITY"])
    if os.environ.get("LINLI_DISPATCH_CROSS_COMMUNITY")
    else None
)
# How often `linli worker` sweeps deadlines, in seconds.
LINLI_SWEEP_INTERVAL = int(os.environ.get("LINLI_SWEEP_INTERVAL", "60"))
# A periodic job's run still "running" after this long is taken for dead (its
# worker was killed), and the schedule enqueues a new one.
# (Only for runs whose worker cannot be asked: each linli worker beats while it
# runs, and a run whose worker stopped beating is replaced at once.)
LINLI_PERIODIC_STALE = int(os.environ.get("LINLI_PERIODIC_STALE", "900"))
# Each linli worker records that it is alive this often, beside its jobs; one
# silent for LINLI_WORKER_BEAT_LOST seconds is taken for dead (its running
# periodic job is run again by another worker).
LINLI_WORKER_BEAT_SECONDS = float(os.environ.get("LINLI_WORKER_BEAT_SECONDS", "5"))
LINLI_WORKER_BEAT_LOST = int(os.environ.get("LINLI_WORKER_BEAT_LOST", "30"))


# === Production: `linli serve` behind a reverse proxy ========================
# LINLI_PRODUCTION=1 (deploy/linli.env) turns on what `check --deploy` asks
# for. Without a SECRET_KEY of its own production refuses to start.
LINLI_PRODUCTION = env_bool("LINLI_PRODUCTION", False)
if LINLI_PRODUCTION:
    from django.core.exceptions import ImproperlyConfigured

    if not os.environ.get("SECRET_KEY"):
        raise ImproperlyConfigured(
            "LINLI_PRODUCTION is set but SECRET_KEY is not: set SECRET_KEY in the "
            "environment (deploy/linli.env) to a long random value, e.g. the output of "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    # The proxy terminates TLS and says so in X-Forwarded-Proto (deploy/nginx).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The proxy's and the monitoring's probes may come over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # `linli serve` collects the static files here; WhiteNoise serves them
    # compressed, with hashed names cached for ever.
    STATIC_ROOT = os.environ.get("STATIC_ROOT") or str(DATA_DIR / "static")
    STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
    WHITENOISE_USE_FINDERS = False
    WHITENOISE_AUTOREFRESH = False
# Client addresses (rate limits) behind this many proxies that append to
# X-Forwarded-For; 0 trusts no header and uses the peer's address.
LINLI_PROXY_COUNT = int(os.environ.get("LINLI_PROXY_COUNT", "1" if LINLI_PRODUCTION else "0"))

# === Security headers and limits =============================================
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# htmx evaluates hx-on:: attributes with Function() ('unsafe-eval') and adds
# its indicator styles as a <style> element ('unsafe-inline' styles); no inline
# script runs anywhere.
LINLI_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The API's Swagger page loads its script and styles from a CDN, inline.
LINLI_CSP_BY_PATH = {
    "/api/docs": (
        "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
        "https://django-ninja.dev; object-src 'none'; frame-ancestors 'none'"
    ),
}
# Request bodies: JSON and forms up to LINLI_MAX_BODY_BYTES, uploads (the
# residents' Excel import) up to LINLI_MAX_UPLOAD_BYTES; larger ones get 413.
LINLI_MAX_BODY_BYTES = int(os.environ.get("LINLI_MAX_BODY_BYTES", str(256 * 1024)))
LINLI_MAX_UPLOAD_BYTES = int(os.environ.get("LINLI_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
# Rate limits ("count/s|m|h|d"): token requests per client address, orders
# placed through the API per account.
LINLI_RATE_TOKEN = os.environ.get("LINLI_RATE_TOKEN", "20/m")
LINLI_RATE_ORDER_PLACE = os.environ.get("LINLI_RATE_ORDER_PLACE", "120/h")
# Requests for a password reset code by SMS, per client address and per phone
# number or username asked for.
LINLI_RATE_PASSWORD_RESET = os.environ.get("LINLI_RATE_PASSWORD_RESET", "5/h")
# Open311 GeoReport v2: requests per api_key, and per client address without one.
LINLI_RATE_OPEN311_KEY = os.environ.get("LINLI_RATE_OPEN311_KEY", "120/m")
LINLI_RATE_OPEN311_PUBLIC = os.environ.get("LINLI_RATE_OPEN311_PUBLIC", "60/m")
# The rate limits count in this cache: Redis shared by every process when
# REDIS_URL is set (production), else each process's memory.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": os.environ.get("LINLI_CACHE_PREFIX", "linli"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# === Health ===================================================================
# /readyz wants a worker heartbeat (linli.site.health.worker_beat) this recent.
LINLI_WORKER_STALE_SECONDS = int(os.environ.get("LINLI_WORKER_STALE_SECONDS", "180"))

# === Logs: one JSON line per request and per job, on stdout ====================
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "linli.core.logging.JsonFormatter"}},
    "handlers": {
        "json": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
        }
    },
    "loggers": {
        # Requests and jobs are logged at INFO whatever the root level.
        "linli.request": {"handlers": ["json"], "level": "INFO", "propagate": False},
        "django_tasks": {"handlers": ["json"], "level": "INFO", "propagate": False},
        "django.tasks": {"handlers": ["json"], "level": "INFO", "propagate": False},
        "django_tasks_db": {"handlers": ["json"], "level": "INFO", "propagate": False},
        # Our request log line replaces django.request's (which would repeat 4xx/5xx).
        "django.request": {"handlers": ["json"], "level": "ERROR", "propagate": False},
    },
    "root": {"handlers": ["json"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
# Tests and the demo may quiet the request lines (LINLI_REQUEST_LOG=0).
if not env_bool("LINLI_REQUEST_LOG", True):
    LOGGING["loggers"]["linli.request"]["level"] = "WARNING"  # type: ignore[index]
