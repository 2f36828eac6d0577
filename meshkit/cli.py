"""The `python -m svc_*` entry point every service shares."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import TypeVar

from meshkit.logs import setup_logging
from meshkit.server import ServiceServer, run_until_signalled
from meshkit.settings import ServiceSettings, SettingsError
from meshkit.telemetry import Tracing, TracingSettings

log = logging.getLogger(__name__)

S = TypeVar("S", bound=ServiceSettings)


def service_main(
    prog: str,
    description: str,
    env_help: str,
    load_settings: Callable[[], S],
    create_server: Callable[[S, Tracing], ServiceServer],
    argv: list[str] | None = None,
) -> int:
    """Parses --help, reads settings, builds the server and serves until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {prog}",
        description=f"{description} Configured by environment variables; "
        "serves until SIGTERM or Ctrl-C, then drains in-flight calls.",
        epilog=env_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    try:
        settings = load_settings()
        tracing = TracingSettings.from_env()
    except SettingsError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.server)
    try:
        server = create_server(settings, Tracing(settings.server, tracing))
    except Exception:
        log.exception("%s failed to start", settings.server.replica)
        return 1
    return run_until_signalled(server)
