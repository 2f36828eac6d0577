"""`meshctl up --monitoring`: a local Prometheus (Debian's prometheus package, installed on first use by
tools/install-prometheus.sh) scraping every replica and Envoy, with the repository's rules (monitoring/rules)
loaded, so the alerts can be watched firing at http://127.0.0.1:<port>/alerts.

The scrape jobs are named as the rules expect (job="shopmesh-<service>", "shopmesh-envoy"). The broker is not
scraped: nats-server serves its figures as JSON (/varz, /jsz), not in Prometheus' format; the replicas' own
shopmesh_events_* metrics (broker link, outbox, consumer lag, dead letters) cover the events pipeline.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshctl.topology import ROOT

INSTALLER = ROOT / "tools" / "install-prometheus.sh"
RULES = tuple(sorted((ROOT / "monitoring" / "rules").glob("*.yml")))
DEFAULT_PORT = 9090
PROMETHEUS = "prometheus"
"""The supervised child's name."""


@dataclass(frozen=True)
class Options:
    port: int = DEFAULT_PORT
    """Prometheus' web UI and API, on loopback."""
    rule_files: tuple[Path, ...] = RULES
    scrape_interval: str = "5s"
    """Also the rules' evaluation interval: a local mesh wants to see a change within seconds."""
    extra_args: tuple[str, ...] = field(default_factory=tuple)


def prometheus_binary() -> str:
    """The prometheus binary, installing Debian's package first if it is missing."""
    result = subprocess.run([str(INSTALLER)], capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"could not install Prometheus ({INSTALLER}):\n{result.stderr}")
    return str(Path(result.stdout.strip().splitlines()[-1]) / "prometheus")


def config(metrics: dict[str, list[str]], envoy_metrics: str, options: Options) -> dict[str, Any]:
    """prometheus.yml: one job per service (its replicas' /metrics), one for Envoy's metrics listener."""
    jobs: list[dict[str, Any]] = [
        {"job_name": f"shopmesh-{service}", "static_configs": [{"targets": list(addresses)}]}
        for service, addresses in metrics.items()
        if addresses
    ]
    if envoy_metrics:
        jobs.append(
            {
                "job_name": "shopmesh-envoy",
                "metrics_path": "/stats/prometheus",
                "static_configs": [{"targets": [envoy_metrics]}],
            }
        )
    return {
        "global": {
            "scrape_interval": options.scrape_interval,
            "scrape_timeout": options.scrape_interval,
            "evaluation_interval": options.scrape_interval,
        },
        "rule_files": [str(p.resolve()) for p in options.rule_files],
        "scrape_configs": jobs,
    }


def write_config(directory: Path, cfg: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "prometheus.yml"
    path.write_text(json.dumps(cfg, indent=2) + "\n")  # JSON is YAML
    return path


def argv(binary: str, config_path: Path, data_dir: Path, options: Options) -> list[str]:
    return [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={data_dir}",
        "--storage.tsdb.retention.time=3d",
        f"--web.listen-address=127.0.0.1:{options.port}",
        # Its start-up chatter (logfmt, a dozen lines) would drown the mesh's console; warnings still show.
        "--log.level=warn",
        *options.extra_args,
    ]
