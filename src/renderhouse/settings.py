"""The one typed settings object, built at the edge and passed down.

Sources, highest first: CLI flags (passed as overrides), ``RENDERHOUSE_*`` environment
variables, an optional TOML settings file (``RENDERHOUSE_SETTINGS_FILE`` or ``--settings``),
then the defaults below, which are the embedded ones (SQLite + a local directory).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from renderhouse.errors import SettingsError
from renderhouse.models.config import LLMSettings

DEFAULT_SECRET = "change-me-renderhouse-dev-secret"


class CreditPack(BaseModel):
    """A pack of credits for sale; ``price`` in the currency's minor units."""

    credits: int = Field(gt=0)
    price: int = Field(gt=0)
    currency: str = Field(default="IDR", min_length=3, max_length=8)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RENDERHOUSE_", extra="forbid", use_attribute_docstrings=True
    )

    mode: Literal["development", "production"] = "development"
    """production refuses a default secret and an open CORS policy; development is lenient."""
    data_dir: Path = Path("./renderhouse-data")
    """Where the embedded deployment keeps its SQLite file, artifacts, uploads and scratch."""
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite in the data directory."
    )
    storage_url: str | None = Field(
        default=None, description="file:///path or s3://bucket; default is data_dir/artifacts."
    )
    redis_url: str | None = None
    """redis://host:port/db for rate limits and events shared by API nodes; none: in-process."""
    max_concurrent_jobs: int = Field(default=2, ge=1, le=256)
    """Jobs one worker runs at once (pool children for isolated kinds)."""
    max_queue_size: int = Field(default=100_000, ge=1)
    """Queued jobs at which submissions are refused with 503 queue_full."""
    job_timeout: float = Field(default=600.0, gt=0, le=86_400)
    """Default per-attempt timeout in seconds for kinds that declare none."""
    retry_attempts: int = Field(default=3, ge=1, le=100)
    """Attempts a job gets before it fails for good (input errors are never retried)."""
    retention_days: int = Field(default=30, ge=1)
    """Finished jobs (and their artifacts) older than this are pruned by cleanup."""
    max_upload_mb: int = Field(default=200, ge=1)
    """Largest upload accepted by POST /v1/uploads, in MB."""
    starter_credits: int = Field(default=200, ge=0)
    """Credits granted once to each new user (a few demo turntables; 0: none)."""
    rate_limit: str = "120/minute"
    """Requests per API key (limits syntax, e.g. '120/minute')."""
    cors_origins: list[str] = Field(default_factory=list)
    """Origins allowed by CORS; empty allows none (production refuses '*')."""
    secret_key: str = DEFAULT_SECRET
    """Signs JWTs and artifact URLs. Unset: data_dir/secret_key, made on first start."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Least severe log level written."""
    log_format: Literal["console", "json"] = "console"
    """console (readable) or json (one object per line, for log shippers)."""

    lease_seconds: float = Field(default=15.0, ge=1, le=3600)
    """How long a claimed job is held without a heartbeat before the rescuer takes it back."""
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    """How often a worker renews the lease of each running job."""
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    """Claim polling interval when no LISTEN/NOTIFY wake-up arrives."""
    rescue_seconds: float = Field(default=5.0, gt=0)
    """How often expired leases are looked for."""
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    """On SIGTERM, how long running jobs may finish before they are handed back."""
    breaker_failures: int = Field(default=5, ge=1)
    """Consecutive infrastructure failures of a kind that open its circuit breaker."""
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    """How long an open breaker waits before a half-open trial."""
    owner_failures: int = Field(default=5, ge=1)
    """Failed attempts, not the caller's fault, an owner may have within the window below."""
    owner_failure_window_seconds: float = Field(default=300.0, gt=0)
    """The window owner_failures counts in."""
    owner_cooldown_seconds: float = Field(default=60.0, gt=0)
    """How long a worker skips an owner over budget (doubles on repeats, up to an hour)."""

    max_model_mb: int = Field(default=200, ge=1)
    """Largest 3D model a generator loads, in MB."""
    max_triangles: int = Field(default=5_000_000, ge=1)
    """Most triangles a model may declare (every accessor counted)."""
    max_texture_pixels: int = Field(default=8192 * 8192, ge=1)
    """Most pixels one texture may declare (decompression-bomb guard)."""

    rate_limit_global: str = Field(
        default="6000/minute", description="All requests to one deployment (shared on Redis)."
    )
    upload_rate_limit: str = Field(default="60/hour", description="Uploads per user.")
    rate_limit_fail_open: bool = Field(
        default=True, description="Serve requests unlimited when Redis is unreachable."
    )
    jwt_audience: str | None = None
    """Required 'aud' of JWT bearer tokens, if set."""
    jwt_issuer: str | None = None
    """Required 'iss' of JWT bearer tokens, if set."""
    jwt_jwks_url: str | None = Field(
        default=None, description="Accept RS256 bearer tokens signed by keys at this JWKS URL."
    )
    artifact_url_ttl_seconds: int = Field(default=3600, ge=1, le=7 * 86_400)
    """Lifetime of signed artifact URLs."""
    events_poll_seconds: float = Field(default=0.15, gt=0, le=10)
    """How often SSE/WebSocket streams poll the store when no notification arrives."""
    api_threads: int = Field(
        default=8,
        ge=1,
        le=256,
        description="Threads per API process for blocking work (database calls). Few is "
        "faster: each extra runnable thread competes with the event loop for the GIL.",
    )
    stream_max_per_second: float = Field(
        default=2.0, gt=0, le=50, description="Snapshots a second, at most, per system stream."
    )
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    """Delivery attempts per webhook notice (exponential backoff between them)."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    """Timeout of one webhook delivery request."""
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks reach loopback and private networks (on-premises receivers).",
    )
    auth_cache_seconds: float = Field(
        default=2.0, ge=0, le=60, description="How long an API process trusts a checked key."
    )

    alert_webhook_url: str | None = Field(
        default=None, description="POST firing alerts (JSON) to this URL."
    )
    backup_cron: str | None = Field(
        default=None, description="Scheduled backups, 5-field cron in UTC, e.g. '0 3 * * *'."
    )
    backup_dir: Path | None = Field(default=None, description="Default: data_dir/backups.")
    backup_keep: int = Field(default=7, ge=1, le=1000)
    """Scheduled backups kept; older ones are removed."""
    backup_include_artifacts: bool = False
    """Scheduled backups copy local artifacts and uploads too."""
    alert_check_seconds: float = Field(
        default=60.0, gt=0, description="how often workers and serve evaluate alert rules"
    )
    disk_alert_percent: float = Field(default=90.0, gt=0, le=100)
    """Disk use of the data directory's filesystem at which an alert fires."""
    failure_alert_rate: float = Field(default=0.5, gt=0, le=1)
    """Share of failed jobs over the alert window at which an alert fires."""
    backlog_alert_seconds: float = Field(default=900.0, gt=0)
    """Age of the oldest queued job at which an alert fires."""

    duitku_merchant_code: str | None = Field(default=None, description="Duitku merchant code.")
    duitku_api_key: str | None = Field(default=None, description="Duitku API key (signatures).")
    duitku_base_url: str = Field(
        default="https://sandbox.duitku.com/webapi",
        description="https://passport.duitku.com/webapi in production.",
    )
    duitku_callback_url: str | None = Field(
        default=None, description="Public URL of POST /v1/payments/duitku/callback."
    )
    duitku_return_url: str | None = None
    """Where Duitku sends the buyer back after paying."""
    duitku_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    """Timeout of calls to Duitku."""
    stripe_webhook_secret: str | None = Field(
        default=None, description="Signing secret of the Stripe-style webhook (whsec_…)."
    )
    stripe_tolerance_seconds: int = Field(default=300, ge=1, le=3600)
    """Largest age of a Stripe-style webhook timestamp accepted (replay guard)."""
    google_client_id: str | None = None
    """OAuth client id for Google Calendar connections (docs/schedule.md, Sync)."""
    google_client_secret: SecretStr | None = None
    """OAuth client secret of ``google_client_id``."""
    google_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    """Google's OAuth 2 authorization endpoint (the consent page users are sent to)."""
    google_token_url: str = "https://oauth2.googleapis.com/token"
    """Google's OAuth 2 token endpoint (code exchange and refresh)."""
    google_calendar_api_url: str = "https://www.googleapis.com/calendar/v3"
    """Base URL of the Google Calendar API v3."""
    google_redirect_url: str | None = None
    """Callback registered with Google; default: this server's /v1/calendars/google/callback."""
    calendar_sync_max_attempts: int = Field(default=8, ge=1, le=50)
    """Attempts of a calendar sync job (exponential backoff while the calendar is down)."""
    calendar_allow_private: bool = False
    """Let CalDAV connections reach loopback and private networks (on-premises servers)."""
    budget_hold_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Budget holds older than this are settled at their estimate (their "
        "caller died); keep it above the longest paid call.",
    )
    credit_packs: dict[str, CreditPack] = Field(
        default_factory=lambda: {
            "starter": CreditPack(credits=1_000, price=50_000, currency="IDR"),
            "studio": CreditPack(credits=12_000, price=500_000, currency="IDR"),
        },
        description="Credit packs for sale: name -> credits, price (minor units), currency.",
    )
    sentry_dsn: SecretStr | None = Field(
        default=None, description="Send unexpected API errors to Sentry (no bodies or keys)."
    )
    llm: LLMSettings = Field(
        default_factory=LLMSettings,
        description="LLM models and their deployments (docs/models.md); JSON in RENDERHOUSE_LLM.",
    )

    @model_validator(mode="after")
    def _production_guard(self) -> Settings:
        if self.mode == "production":
            # Production runs several nodes, which must share one key: configured, never
            # one per data directory (ops/secret_key.py).
            if self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32:
                raise ValueError(
                    "production mode needs RENDERHOUSE_SECRET_KEY set to a random value of "
                    "at least 32 characters, the same on every node"
                )
            if "*" in self.cors_origins:
                raise ValueError("production mode refuses RENDERHOUSE_CORS_ORIGINS='*'")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'renderhouse.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return (self.data_dir / "artifacts").resolve().as_uri()


def load_settings(settings_file: Path | None = None, **overrides: Any) -> Settings:
    """Build and validate the settings once; raise SettingsError with a readable message."""
    import os

    values: dict[str, Any] = {}
    file = settings_file or (
        Path(os.environ["RENDERHOUSE_SETTINGS_FILE"])
        if os.environ.get("RENDERHOUSE_SETTINGS_FILE")
        else None
    )
    if file is not None:
        try:
            values.update(tomllib.loads(file.read_text()))
        except FileNotFoundError as exc:
            raise SettingsError(f"settings file {file} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"settings file {file} is not valid TOML: {exc}") from exc
    env_keys = {
        k[len("RENDERHOUSE_") :].lower() for k in os.environ if k.startswith("RENDERHOUSE_")
    }
    # Environment wins over the file: drop file values the environment sets.
    values = {k: v for k, v in values.items() if k not in env_keys}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from exc
