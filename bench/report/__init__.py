"""From samples to the result: medians per row, ratios to the limit, the targets, the table and the JSON file.

The pieces: rows.py (the rows and their medians), groups.py (processes by group), target.py (the issue's targets),
tables.py (the console report) and json_file.py (bench/results/latest.json). Callers use the names below.
"""

from __future__ import annotations

from bench.report.groups import EVENTS, GROUPS, SERVICES, grouped, process_group
from bench.report.json_file import document, write_json
from bench.report.rows import DIRECT_ROWS, GROWTH_ROWS, NO_BROKER, ROW_NAMES, Row, aggregate, limit_of, ratio
from bench.report.tables import cpu_table, rss_table, table, targets_table
from bench.report.target import Target, targets

__all__ = [
    "DIRECT_ROWS",
    "EVENTS",
    "GROUPS",
    "GROWTH_ROWS",
    "NO_BROKER",
    "ROW_NAMES",
    "SERVICES",
    "Row",
    "Target",
    "aggregate",
    "cpu_table",
    "document",
    "grouped",
    "limit_of",
    "process_group",
    "ratio",
    "rss_table",
    "table",
    "targets",
    "targets_table",
    "write_json",
]
