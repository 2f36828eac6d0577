"""Settings of the users service, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from meshkit.settings import Env, ServerSettings, data_dir, env_help, load_server_settings

PREFIX, DEFAULT_PORT = "SVC_USER", 50100
ENV_HELP = env_help(
    PREFIX,
    DEFAULT_PORT,
    f"  {PREFIX}_JWT_KEY_FILE   PEM EC P-256 private key signing tokens\n"
    "                            (default $SHOPMESH_DATA_DIR/keys/jwt-es256.pem)\n"
    f"  {PREFIX}_JWT_KEY_CREATE create the key file when missing: true (default) or false\n"
    f"  {PREFIX}_JWT_ISSUER     the tokens' iss claim (default shopmesh-users)\n"
    f"  {PREFIX}_JWT_AUDIENCE   the tokens' aud claim (default shopmesh)\n"
    f"  {PREFIX}_TOKEN_TTL_SECONDS  token lifetime (default 3600)\n",
)


@dataclass(frozen=True)
class Settings:
    server: ServerSettings
    jwt_key_file: Path
    jwt_key_create: bool
    jwt_issuer: str
    jwt_audience: str
    token_ttl_seconds: int


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(PREFIX, environ)
    return Settings(
        server=load_server_settings("users", PREFIX, DEFAULT_PORT, environ),
        jwt_key_file=Path(env.text("JWT_KEY_FILE", str(data_dir(environ) / "keys" / "jwt-es256.pem"))),
        jwt_key_create=env.flag("JWT_KEY_CREATE", True),
        jwt_issuer=env.text("JWT_ISSUER", "shopmesh-users"),
        jwt_audience=env.text("JWT_AUDIENCE", "shopmesh"),
        token_ttl_seconds=env.integer("TOKEN_TTL_SECONDS", 3600, minimum=60, maximum=86400 * 30),
    )
