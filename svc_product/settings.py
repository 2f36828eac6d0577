"""Settings of the products service, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meshkit.settings import Env, ServerSettings, env_help, load_server_settings
from svc_product.cache import CacheSettings

PREFIX, DEFAULT_PORT = "SVC_PRODUCT", 50200
_DEFAULTS = CacheSettings()
ENV_HELP = env_help(
    PREFIX,
    DEFAULT_PORT,
    f"  {PREFIX}_CACHE_PRODUCTS     GetProduct answers each replica caches (default {_DEFAULTS.products};\n"
    "                            0 turns the product cache off)\n"
    f"  {PREFIX}_CACHE_PAGES        ListProducts pages each replica caches (default {_DEFAULTS.pages}; 0: off)\n"
    f"  {PREFIX}_CACHE_TTL_SECONDS  the longest a cached entry is served, in case an invalidation\n"
    f"                            is lost (default {_DEFAULTS.ttl_seconds:g}); changes invalidate at once\n",
)


@dataclass(frozen=True)
class Settings:
    server: ServerSettings
    cache: CacheSettings


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(PREFIX, environ)
    return Settings(
        server=load_server_settings("products", PREFIX, DEFAULT_PORT, environ),
        cache=CacheSettings(
            products=env.integer("CACHE_PRODUCTS", _DEFAULTS.products, maximum=10_000_000),
            pages=env.integer("CACHE_PAGES", _DEFAULTS.pages, maximum=1_000_000),
            ttl_seconds=env.number("CACHE_TTL_SECONDS", _DEFAULTS.ttl_seconds, minimum=0.0),
        ),
    )
