"""Settings of the payments service, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping

from meshkit.settings import ServerSettings, env_help, load_server_settings

PREFIX, DEFAULT_PORT = "SVC_PAYMENT", 50400
ENV_HELP = env_help(PREFIX, DEFAULT_PORT)


def load(environ: Mapping[str, str] | None = None) -> ServerSettings:
    return load_server_settings("payments", PREFIX, DEFAULT_PORT, environ)
