"""The README's first command: the whole pipeline on the embedded defaults, end to end.

Starts the built-in simulator, backfills the last week of its two sites into a SQLite warehouse
through the real Dagster assets (one run for the week, then the lifetime stats), prints what landed
and whether it matches the simulator row for row, and stops the simulator.

    python -m gsc_assets.demo [--days 7] [--database-url sqlite:///gsc_demo.sqlite] [--ui]

With `--ui` the runs are kept in `.dagster_home/` and, once the demo is done, the Dagster UI
opens on its data (the simulator keeps serving until Ctrl-C).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from gsc_assets.definitions import build_definitions
from gsc_assets.defs.instance import init_instance, open_instance
from gsc_assets.defs.runs import materialize_dates, materialize_unpartitioned
from gsc_assets.reports.catalogue import CORE_REPORTS
from gsc_assets.reports.limits import today_pacific
from gsc_assets.reports.vocabulary import SearchType
from gsc_assets.simulator.config import SimulatorConfig
from gsc_assets.simulator.server import running_simulator
from gsc_assets.warehouse.engine import make_engine
from gsc_assets.warehouse.frames import read_table

DEFAULT_DEMO_DATABASE = "sqlite:///gsc_demo.sqlite"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; return the process exit code (0 when the warehouse matches the simulator)."""
    args = _parse_args(argv)
    started = time.perf_counter()
    with running_simulator(SimulatorConfig()) as sim:
        sites = list(sim.sites)
        _say(f"simulator listening on {sim.base_url} with sites {', '.join(sites)}")
        env = {
            "GSC_API_BASE_URL": sim.base_url,
            "GSC_ACCESS_TOKEN": "sim-token",
            "GSC_SITES": ",".join(sites),
            "GSC_DATABASE_URL": args.database_url,
            "GSC_DATA_STATE": "final",
            "GSC_START_DATE": (today_pacific() - dt.timedelta(days=30)).isoformat(),
        }
        last = today_pacific() - dt.timedelta(days=3)
        first = last - dt.timedelta(days=args.days - 1)
        _say(f"backfilling {first} .. {last} ({args.days} days) into {args.database_url}")
        home = _ui_home() if args.ui else None
        sync, result = _materialize_range(env, first, last, home)
        _say("checks:\n  " + "\n  ".join(check_summary(sync)))
        _say(EXPECTED_WARNINGS)
        if not result.success:
            _say("the run failed; see the log above")
            return 1
        engine = make_engine(args.database_url)
        summary = summarize(engine, first, last)
        _say("what landed (rows per table and site):\n" + summary.to_string(index=False))
        mismatches = compare_with_simulator(engine, sim, sites, first, last)
        engine.dispose()
        elapsed = time.perf_counter() - started
        if mismatches:
            _say("MISMATCH with the simulator:\n  " + "\n  ".join(mismatches[:20]))
            return 1
        _say(f"every table matches the simulator row for row; demo took {elapsed:.1f} s")
        if home is not None:
            return _open_ui(env, home)
    _say(NEXT_STEP)
    return 0


# The simulator's bigger site is built to show both on purpose; neither fails a run.
EXPECTED_WARNINGS = (
    "the two WARNs above are expected on the simulator's data:\n"
    "  has_no_url_variants: its pages include the same page under several URLs (trailing "
    "slash, case, tracking parameters), as real sites do;\n"
    "  is_complete (page x query): its big site has more than 50,000 page x query rows a day, "
    "the most Google returns, so part of the clicks is not in rows (lost_clicks_share)."
)
NEXT_STEP = (
    "next: look at the data in the Dagster UI (per-date plots, checks, columns):\n"
    "  .venv/bin/python -m gsc_assets.demo --ui\n"
    "then README 'Look at the data' for example SQL, and 'Point it at real Search Console'."
)


def _ui_home() -> Path:
    """A persistent instance for the UI to show the demo's runs."""
    home = Path(".dagster_home").resolve()
    init_instance(home, Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml")
    return home


def _open_ui(env: dict[str, str], home: Path) -> int:
    """`dagster dev` on the demo's warehouse and runs, while the simulator keeps serving."""
    _say("opening the Dagster UI at http://127.0.0.1:3000 (Ctrl-C stops it and the simulator)")
    url = env["GSC_DATABASE_URL"]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{Path(url.removeprefix('sqlite:///')).resolve()}"  # dg runs elsewhere
    environ = {**os.environ, **env, "GSC_DATABASE_URL": url, "DAGSTER_HOME": str(home)}
    project = Path(__file__).resolve().parents[1]
    # `dg dev` in the checkout (dg project); `dagster dev` would warn that it is superseded.
    command = [str(Path(sys.executable).with_name("dg")), "dev", "--port", "3000"]
    try:
        return subprocess.run(command, env=environ, cwd=project, check=False).returncode
    except KeyboardInterrupt:
        return 0


def _materialize_range(
    env: dict[str, str], first: dt.date, last: dt.date, home: Path | None = None
) -> tuple[dg.ExecuteInProcessResult, dg.ExecuteInProcessResult]:
    """The sync run (whose check evaluations the summary shows) and the last run made."""
    defs = build_definitions(env)
    opened = open_instance(home) if home is not None else dg.DagsterInstance.ephemeral()
    with opened as instance:
        tables = [r.table for r in CORE_REPORTS]
        sync = materialize_dates(defs, tables, first, last, instance=instance, log_level="INFO")
        result = sync
        if sync.success:
            result = materialize_unpartitioned(
                defs, ["gsc_page_lifetime"], instance=instance, log_level="INFO"
            )
    return sync, result


# The figures worth a line in the summary, per check (all numbers are in the check's metadata).
KEY_NUMBERS = (
    "slices_compared",
    "mismatched_slices",
    "hidden_clicks_share",
    "anonymized_clicks_share",
    "truncated_slices",
    "lost_clicks_share",
    "slices_missing_rows",
    "variant_groups",
    "duplicate_keys",
    "unsynced_slices",
    "stale_sites",
)


def check_summary(result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per check evaluation: asset, check, passed/FAILED (severity), key numbers."""
    lines = []
    for evaluation in sorted(
        result.get_asset_check_evaluations(),
        key=lambda e: (e.asset_key.to_user_string(), e.check_name),
    ):
        verdict = "passed" if evaluation.passed else f"FAILED ({evaluation.severity.value})"
        numbers = ", ".join(
            f"{name}={evaluation.metadata[name].value}"
            for name in KEY_NUMBERS
            if name in evaluation.metadata
        )
        lines.append(
            f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}: {verdict}"
            + (f" [{numbers}]" if numbers else "")
        )
    return lines


def summarize(engine: sa.Engine, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Rows, clicks and impressions per table and site for the demo's dates."""
    frames = []
    for report in CORE_REPORTS:
        table = read_table(engine, report.table)
        table = table[(table["date"] >= first) & (table["date"] <= last)]
        grouped = table.groupby("site_url").agg(
            rows=("clicks", "size"), clicks=("clicks", "sum"), impressions=("impressions", "sum")
        )
        grouped.insert(0, "table", report.table)
        frames.append(grouped.reset_index())
    lifetime = read_table(engine, "gsc_page_lifetime")
    lifetime_rows = lifetime.groupby("site_url").agg(
        rows=("clicks", "size"), clicks=("clicks", "sum"), impressions=("impressions", "sum")
    )
    lifetime_rows.insert(0, "table", "gsc_page_lifetime")
    frames.append(lifetime_rows.reset_index())
    summary = pd.concat(frames, ignore_index=True)
    summary[["clicks", "impressions"]] = summary[["clicks", "impressions"]].astype("int64")
    return summary[["table", "site_url", "rows", "clicks", "impressions"]]


def compare_with_simulator(
    engine: sa.Engine, sim: object, sites: Sequence[str], first: dt.date, last: dt.date
) -> list[str]:
    """Differences between the warehouse and what the simulator serves, per table/site/date."""
    mismatches = []
    day = first
    while day <= last:
        for report in CORE_REPORTS:
            for site in sites:
                expected = sim.expected_rows(  # type: ignore[attr-defined]
                    site,
                    day,
                    SearchType.WEB.value,
                    [d.value for d in report.request_dimensions],
                    report.aggregation_type.value,
                    "final",
                )
                stored = read_table(engine, report.table, site_url=site, date=day)
                if len(stored) != len(expected) or _clicks(stored) != _expected_clicks(expected):
                    mismatches.append(
                        f"{report.table} {site} {day}: stored {len(stored)} rows, "
                        f"simulator serves {len(expected)}"
                    )
        day += dt.timedelta(days=1)
    return mismatches


def _clicks(frame: pd.DataFrame) -> float:
    return float(frame["clicks"].sum()) if len(frame) else 0.0


def _expected_clicks(rows: list[tuple]) -> float:
    return float(sum(row[-4] for row in rows))


def _say(message: str) -> None:
    print(f"[gsc demo] {message}", flush=True)  # noqa: T201 - the demo talks to a person


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gsc_assets.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--ui", action="store_true", help="then open the Dagster UI on the demo's data"
    )
    parser.add_argument("--days", type=int, default=7, help="how many days to backfill (default 7)")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DEMO_DATABASE,
        help=f"warehouse URL (default {DEFAULT_DEMO_DATABASE})",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
