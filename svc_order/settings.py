"""Settings of the orders service, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meshkit.settings import Env, ServerSettings, env_help, load_server_settings

PREFIX, DEFAULT_PORT = "SVC_ORDER", 50300
ENV_HELP = env_help(
    PREFIX,
    DEFAULT_PORT,
    "  MESH_INTERNAL_ADDR         Envoy's internal listener, through which orders calls\n"
    "                            products, payments and users (default 127.0.0.1:8081)\n"
    f"  {PREFIX}_CALL_TIMEOUT_SECONDS  deadline of each call to another service (default 5)\n"
    f"  {PREFIX}_SAGA_LEASE_SECONDS    how long a checkout or cancellation may run before the\n"
    "                            recovery sweeper takes it over (default 20)\n"
    f"  {PREFIX}_RECOVERY_INTERVAL_SECONDS  how often the sweeper looks for stranded orders (default 2)\n",
)


@dataclass(frozen=True)
class Settings:
    server: ServerSettings
    mesh_internal_addr: str
    call_timeout: float
    saga_lease: float
    recovery_interval: float


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = Env(PREFIX, environ)
    return Settings(
        server=load_server_settings("orders", PREFIX, DEFAULT_PORT, environ),
        mesh_internal_addr=Env("", environ).text("MESH_INTERNAL_ADDR", "127.0.0.1:8081"),
        call_timeout=env.number("CALL_TIMEOUT_SECONDS", 5.0, minimum=0.1),
        saga_lease=env.number("SAGA_LEASE_SECONDS", 20.0, minimum=1.0),
        recovery_interval=env.number("RECOVERY_INTERVAL_SECONDS", 2.0, minimum=0.1),
    )
