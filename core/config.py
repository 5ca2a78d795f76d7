"""Settings from the environment and `.env`, validated once."""

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_SECRET_KEY_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///./hero.db"
    secret_key: SecretStr | None = None
    environment: Literal["development", "production"] = "development"

    first_admin_username: str = "admin"
    first_admin_password: SecretStr | None = None

    access_token_expire_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_expire_days: int = Field(default=7, ge=1, le=365)
    jwt_issuer: str = "hero-api"
    jwt_audience: str = "hero-api"
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"

    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)

    allow_registration: bool = False
    default_permissions: Annotated[list[str], NoDecode] = [
        "heroes:read",
        "heroes:write",
        "teams:read",
    ]

    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    hash_concurrency: int = Field(default=1, ge=1, le=64)

    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=2, ge=0)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_level: str = "info"

    @field_validator("default_permissions", mode="before")
    @classmethod
    def split_comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def connections_per_worker(self) -> int:
        """One pooled connection for each thread that runs database work (api.threads): the
        database threads and the hashing threads; overflow is slack for startup."""
        return self.db_pool_size + self.hash_concurrency

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
