"""Settings of the notifications service, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from meshkit.settings import Env, ServerSettings, SettingsError, env_help, load_server_settings

PREFIX, DEFAULT_PORT = "SVC_NOTIFICATION", 50500
DEFAULT_FROM = "shopmesh <no-reply@shopmesh.local>"
ENV_HELP = env_help(
    PREFIX,
    DEFAULT_PORT,
    f"  {PREFIX}_SMTP_URL   where e-mail goes: smtp://[user:password@]host[:port][?starttls=true]\n"
    "                            or smtps://... (implicit TLS); empty (default): each message is\n"
    "                            written as an .eml file under SHOPMESH_MAIL_DIR instead\n"
    f"  {PREFIX}_MAIL_FROM  the From: of every message (default {DEFAULT_FROM})\n"
    "  SHOPMESH_MAIL_DIR          where .eml files go without an SMTP URL (default var/mail)\n",
)


@dataclass(frozen=True)
class Settings:
    server: ServerSettings
    smtp_url: str
    mail_from: str
    mail_dir: Path


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(PREFIX, environ)
    smtp_url = env.text("SMTP_URL", "")
    if smtp_url and not smtp_url.startswith(("smtp://", "smtps://")):
        raise SettingsError(f"{PREFIX}_SMTP_URL must start with smtp:// or smtps://")
    return Settings(
        server=load_server_settings("notifications", PREFIX, DEFAULT_PORT, environ),
        smtp_url=smtp_url,
        mail_from=env.text("MAIL_FROM", DEFAULT_FROM),
        mail_dir=Path(Env("", environ).text("SHOPMESH_MAIL_DIR", "var/mail")),
    )
