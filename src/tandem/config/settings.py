"""Django settings for Tandem.

Zero configuration gives an embedded SQLite database (WAL) under ``TANDEM_DATA_DIR``;
``DATABASE_URL`` switches to PostgreSQL. Every variable is documented in docs/operations.md.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from pathlib import Path

import dj_database_url

from tandem.config import installed
from tandem.config.env import (
    SQLITE_FILE,
    SettingsError,
    data_dir,
    env_bool,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir()

DEBUG = env_bool("TANDEM_DEBUG", False)
HTTPS = env_bool("TANDEM_HTTPS", False)


def _secret_key() -> str:
    """Use TANDEM_SECRET_KEY, or a key generated once and kept in the data directory."""
    configured = env_str("TANDEM_SECRET_KEY", "")
    if configured:
        if len(configured) < 32:
            raise SettingsError("TANDEM_SECRET_KEY must be at least 32 characters long")
        return configured
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("TANDEM_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("TANDEM_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("TANDEM_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = list(installed.INSTALLED_APPS)  # one place: config/installed.py

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static files keep their caching), above everything that may answer.
    "tandem.core.middleware.NoStoreMiddleware",
    "tandem.core.middleware.RequestIdMiddleware",
    "tandem.core.guards.NulCharacterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tandem.core.middleware.HtmxFormRedirectMiddleware",
    "axes.middleware.AxesMiddleware",
    "tandem.accounts.middleware.PrincipalMiddleware",
    # Inside it: on /agent/v1/ only, a device credential is the principal (decision 0027).
    "tandem.agents.middleware.DeviceCredentialMiddleware",
]

ROOT_URLCONF = "tandem.config.urls"
WSGI_APPLICATION = "tandem.config.wsgi.application"

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
                "tandem.core.context_processors.principal",
                "tandem.tenancy.context_processors.switcher_tenants",
                "tandem.notifications.context_processors.unread_notifications",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL", "")
if _database_url:
    try:
        _db = dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise SettingsError(
            f"DATABASE_URL is not a database URL Tandem understands: {exc}"
        ) from exc
    if _db["ENGINE"] not in {
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    }:
        raise SettingsError("DATABASE_URL must point at PostgreSQL or SQLite")
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / SQLITE_FILE),
    }
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker and the web process read while the other writes; IMMEDIATE takes
    # the write lock at BEGIN so two writers queue instead of failing with "database is locked".
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
    # Tests use a file, not the in-memory default: the live server's request threads then
    # open their own connections instead of sharing the test thread's one.
    _db.setdefault("TEST", {"NAME": str(DATA_DIR / "test-tandem.sqlite3")})
if _db["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: it compiles a queue page's query (costly to plan, cheap to run) for longer than
    # the query then runs (12 ms of 23 ms at a million tickets). Short queries are our load.
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"]["options"] = " ".join(
        filter(None, [_db["OPTIONS"].get("options", ""), "-c jit=off"])
    )
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work ----------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
    }
}

# --- Authentication -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "tenancy:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling (django-axes): lock a username+IP pair after repeated failures.
AXES_FAILURE_LIMIT = env_int("TANDEM_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("TANDEM_LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "tandem.accounts.views.lockout_response"
AXES_VERBOSE = False

# --- Sessions, CSRF and security headers ----------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("TANDEM_SESSION_HOURS", 12, minimum=1) * 3600
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if HTTPS:
    SECURE_HSTS_SECONDS = env_int("TANDEM_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("TANDEM_SSL_REDIRECT", True)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

# --- Mail ----------------------------------------------------------------------------------
EMAIL_HOST = env_str("TANDEM_SMTP_HOST", "")
EMAIL_PORT = env_int("TANDEM_SMTP_PORT", 25)
EMAIL_HOST_USER = env_str("TANDEM_SMTP_USER", "")
EMAIL_HOST_PASSWORD = env_str("TANDEM_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("TANDEM_SMTP_STARTTLS", False)
EMAIL_TIMEOUT = 15
DEFAULT_FROM_EMAIL = env_str("TANDEM_MAIL_FROM", "Tandem <tandem@localhost>")
# Without an SMTP host (a local run) mail is not sent: the worker prints one line per message
# and keeps the whole message as a file under DATA_DIR/mail (tandem.core.mail).
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "tandem.core.mail.ConsoleSummaryBackend"
)

# Service-desk e-mail (docs/decisions/0006-email.md). Inbound mail reaches `tandem mail-listen`
# at <tenant>@MAIL_DOMAIN (new tickets) and <tenant>+<number>@MAIL_DOMAIN (replies).
MAIL_DOMAIN = env_str("TANDEM_MAIL_DOMAIN", "tandem.localhost").strip().lower()
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
if not re.fullmatch(rf"{_LABEL}(?:\.{_LABEL})*", MAIL_DOMAIN):
    raise SettingsError(f"TANDEM_MAIL_DOMAIN must be a domain name, not {MAIL_DOMAIN!r}")
MAIL_MAX_MESSAGE_BYTES = env_int("TANDEM_MAIL_MAX_MESSAGE_MB", 25, minimum=1) * 1024 * 1024
MAIL_MAX_ATTACHMENT_BYTES = env_int("TANDEM_MAIL_MAX_ATTACHMENT_MB", 10, minimum=1) * 1024 * 1024
MAIL_NEW_TICKETS_PER_HOUR = env_int("TANDEM_MAIL_NEW_TICKETS_PER_HOUR", 10, minimum=1)

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Tandem ------------------------------------------------------------------------------
API_TOKEN_MAX_DAYS = env_int("TANDEM_API_TOKEN_MAX_DAYS", 365, minimum=1)
#: Days a domain event is kept in the outbox after its subscribers all ran (decision 0022).
EVENTS_KEEP_DAYS = env_int("TANDEM_EVENTS_KEEP_DAYS", 7, minimum=1)
#: Days the ids of reports an agent sent are kept beyond each device's newest 50 (the
#: ids acknowledge a report sent again; decision 0028).
AGENT_REPORTS_KEEP_DAYS = env_int("TANDEM_AGENT_REPORTS_KEEP_DAYS", 2, minimum=1)
#: ``POST /agent/v1/check-in`` answered in front of the middleware stack (decision 0028);
#: off sends it through Django's full request like every other path.
AGENT_FAST_PATH = env_bool("TANDEM_AGENT_FAST_PATH", True)
#: A device whose agent has not checked in for this many minutes shows as offline (0026).
DEVICE_OFFLINE_MINUTES = env_int("TANDEM_DEVICE_OFFLINE_MINUTES", 15, minimum=1)
#: The service areas whose responsibility-matrix rows name the party accountable for a
#: device's jobs, in order of preference (decision 0029).
JOBS_SERVICE_AREAS = env_list("TANDEM_JOBS_SERVICE_AREAS", ["server-patching", "endpoint-patching"])
#: A job handed to an agent that has not reported for this many minutes fails "no result".
JOBS_RESULT_MINUTES = env_int("TANDEM_JOBS_RESULT_MINUTES", 24 * 60, minimum=1)


def _webhook_allowed_hosts() -> list[str]:
    """Internal hosts webhooks may reach after all (decision 0018): host names, IP
    addresses and networks (``hooks.corp.lan, 10.20.0.5, 10.30.0.0/16``)."""
    entries = env_list("TANDEM_WEBHOOK_ALLOWED_HOSTS", [])
    for entry in entries:
        bare = entry.strip("[]")
        try:
            ipaddress.ip_network(bare, strict=False)
            continue
        except ValueError:
            pass
        if not re.fullmatch(rf"{_LABEL}(?:\.{_LABEL})*\.?", entry.lower()):
            raise SettingsError(
                "TANDEM_WEBHOOK_ALLOWED_HOSTS takes host names, IP addresses and networks "
                f"separated by commas, not {entry!r}"
            )
    return [e.lower() for e in entries]


WEBHOOK_ALLOWED_HOSTS = _webhook_allowed_hosts()
MFA_ISSUER = env_str("TANDEM_MFA_ISSUER", "Tandem")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("TANDEM_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        # aiosmtpd logs every SMTP command at INFO; the desk keeps each message anyway.
        "mail.log": {"level": "WARNING"},
    },
}

# Event streams (decision 0035, docs/operations.md "Event streams"): where receivers append
# log events and detection workers read them. "embedded" is a log under DATA_DIR/streams;
# "nats" is a NATS JetStream server.
LOG_STREAM = env_str("TANDEM_LOG_STREAM", "embedded").strip().lower()
if LOG_STREAM not in ("embedded", "nats"):
    raise SettingsError(f"TANDEM_LOG_STREAM must be 'embedded' or 'nats', not {LOG_STREAM!r}")
LOG_STREAM_DIR = Path(env_str("TANDEM_LOG_STREAM_DIR", "") or DATA_DIR / "streams" / "events")
LOG_STREAM_MAX_BYTES = env_int("TANDEM_LOG_STREAM_MAX_MB", 10240, minimum=1) * 1024 * 1024
LOG_STREAM_ACK_WAIT_SECONDS = env_int("TANDEM_LOG_STREAM_ACK_WAIT_SECONDS", 60, minimum=1)
LOG_STREAM_MAX_DELIVER = env_int("TANDEM_LOG_STREAM_MAX_DELIVER", 10, minimum=1)
#: The consumer groups created with the stream (JetStream drops what no group wants).
LOG_STREAM_GROUPS = env_list("TANDEM_LOG_STREAM_GROUPS", ["detection"])
NATS_URL = env_str("TANDEM_NATS_URL", "nats://127.0.0.1:4222")
NATS_STREAM = env_str("TANDEM_NATS_STREAM", "TANDEM_EVENTS")
NATS_SUBJECT_PREFIX = env_str("TANDEM_NATS_SUBJECT_PREFIX", "tandem.events")
NATS_REPLICAS = env_int("TANDEM_NATS_REPLICAS", 1, minimum=1)
#: The events one tenant may send per minute over all its sources (decision 0035); a
#: source may have a lower quota of its own. Past it: 429 with Retry-After.
INGEST_TENANT_EVENTS_PER_MINUTE = env_int(
    "TANDEM_INGEST_TENANT_EVENTS_PER_MINUTE", 1_200_000, minimum=1
)
#: ``POST /ingest/v1/events``: the body as sent, the body decompressed, one line.
INGEST_MAX_BODY_BYTES = env_int("TANDEM_INGEST_MAX_BODY_MB", 10, minimum=1) * 1024 * 1024
INGEST_MAX_DECOMPRESSED_BYTES = (
    env_int("TANDEM_INGEST_MAX_DECOMPRESSED_MB", 64, minimum=1) * 1024 * 1024
)
INGEST_MAX_LINE_BYTES = env_int("TANDEM_INGEST_MAX_LINE_KB", 256, minimum=1) * 1024

# Detection (decision 0041, docs/operations.md "Detection"): the Sigma rules the detection
# worker runs, a folder or zip read once at start (compiled packs are cached under the data
# directory, so a restart does not parse them again). Empty: the starter pack shipped in
# tandem/detection/packs/starter.
DETECTION_RULES = env_str("TANDEM_DETECTION_RULES", "").strip()
DETECTION_CACHE_DIR = DATA_DIR / "cache" / "sigma"
# The cache cleans itself (decision 0034, docs/operations.md "Detection"): daily and when a
# detection worker starts, files unused this many days go (never an installed pack's), then
# the least recently used until the folder is under the bound.
DETECTION_CACHE_MAX_AGE_DAYS = env_int("TANDEM_DETECTION_CACHE_MAX_AGE_DAYS", 14, minimum=1)
DETECTION_CACHE_MAX_MB = env_int("TANDEM_DETECTION_CACHE_MAX_MB", 1024, minimum=1)
#: The event archive (decision 0040): hourly Parquet per tenant, written by
#: `tandem archive-worker` from the stream's `archive` group.
LOG_ARCHIVE_DIR = Path(env_str("TANDEM_LOG_ARCHIVE_DIR", "") or DATA_DIR / "archive")
# The syslog listener (`tandem syslog-listen`, decision 0036/0041): ports 0 are not opened;
# TLS (RFC 5425, usually 6514) listens only with a certificate and key. Unprivileged ports
# by default: 514 needs root or CAP_NET_BIND_SERVICE.
SYSLOG_HOST = env_str("TANDEM_SYSLOG_HOST", "0.0.0.0")  # noqa: S104 - it serves the network
SYSLOG_UDP_PORT = env_int("TANDEM_SYSLOG_UDP_PORT", 5514)
SYSLOG_TCP_PORT = env_int("TANDEM_SYSLOG_TCP_PORT", 5514)
SYSLOG_TLS_PORT = env_int("TANDEM_SYSLOG_TLS_PORT", 6514)
SYSLOG_TLS_CERT = env_str("TANDEM_SYSLOG_TLS_CERT", "")
SYSLOG_TLS_KEY = env_str("TANDEM_SYSLOG_TLS_KEY", "")
SYSLOG_TLS_CA = env_str("TANDEM_SYSLOG_TLS_CA", "")
