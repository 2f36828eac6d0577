"""Settings of the users service, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from meshkit.settings import Env, ServerSettings, SettingsError, data_dir, env_help, load_server_settings
from svc_user.keyring import DEFAULT_LEEWAY_SECONDS

PREFIX, DEFAULT_PORT = "SVC_USER", 50100
DEFAULT_PUBLISH_AHEAD_SECONDS = 600
"""How long `keys rotate` publishes a new key before it signs: at least Envoy's JWKS refresh period (295 s: the
topology's gateway.jwks_cache_seconds, 300, less the 5 s Envoy refetches early) plus, on Kubernetes, the time
kubelet takes to bring a changed Secret into the pods (about a minute)."""

ENV_HELP = env_help(
    PREFIX,
    DEFAULT_PORT,
    f"  {PREFIX}_JWT_KEY_DIR    directory of PEM EC P-256 private keys signing tokens, rotated with\n"
    "                            `python -m svc_user keys` (default $SHOPMESH_DATA_DIR/keys)\n"
    f"  {PREFIX}_JWT_KEY_CREATE create a first key when the directory has none: true (default) or false\n"
    f"  {PREFIX}_JWT_PUBLISH_AHEAD_SECONDS  how long `keys rotate` publishes a key before it signs\n"
    f"                            (default {DEFAULT_PUBLISH_AHEAD_SECONDS}; at least the verifiers' JWKS refresh)\n"
    f"  {PREFIX}_JWT_ISSUER     the tokens' iss claim (default shopmesh-users)\n"
    f"  {PREFIX}_JWT_AUDIENCE   the tokens' aud claim (default shopmesh)\n"
    f"  {PREFIX}_TOKEN_TTL_SECONDS  token lifetime (default 3600); a replaced key is published this\n"
    f"                            long (+{DEFAULT_LEEWAY_SECONDS} s) after its successor started signing\n",
)


@dataclass(frozen=True)
class Settings:
    server: ServerSettings
    jwt_key_dir: Path
    jwt_key_create: bool
    jwt_publish_ahead_seconds: int
    jwt_issuer: str
    jwt_audience: str
    token_ttl_seconds: int


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(PREFIX, environ)
    if env.raw("JWT_KEY_FILE") is not None:
        # Refused rather than ignored: a deployment naming one file would otherwise sign with a new key.
        raise SettingsError(
            f"{PREFIX}_JWT_KEY_FILE is replaced by {PREFIX}_JWT_KEY_DIR, a directory of keys (put the key file "
            "in one; its name does not matter)"
        )
    return Settings(
        server=load_server_settings("users", PREFIX, DEFAULT_PORT, environ),
        jwt_key_dir=Path(env.text("JWT_KEY_DIR", str(data_dir(environ) / "keys"))),
        jwt_key_create=env.flag("JWT_KEY_CREATE", True),
        jwt_publish_ahead_seconds=env.integer(
            "JWT_PUBLISH_AHEAD_SECONDS", DEFAULT_PUBLISH_AHEAD_SECONDS, maximum=86400 * 30
        ),
        jwt_issuer=env.text("JWT_ISSUER", "shopmesh-users"),
        jwt_audience=env.text("JWT_AUDIENCE", "shopmesh"),
        token_ttl_seconds=env.integer("TOKEN_TTL_SECONDS", 3600, minimum=60, maximum=86400 * 30),
    )
