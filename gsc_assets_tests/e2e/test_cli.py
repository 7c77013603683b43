"""The README's `dagster asset materialize` commands, run as CI would: real processes, exit codes.

Contract: the commands printed in README "Materialize from the command line" (read from the
README itself, only the dates substituted) exit 0 and leave the warehouse holding exactly what the
simulator serves for those dates; a sync the credential may not do (403) exits non-zero and writes
nothing; a blocking check that fails makes the command exit non-zero too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from gsc_assets.demo import compare_with_simulator
from gsc_assets.reports.catalogue import CORE_REPORTS
from gsc_assets.reports.limits import today_pacific
from gsc_assets.warehouse.engine import make_engine
from gsc_assets_tests.e2e.processes import (
    REPO_ROOT,
    gsc_env,
    make_dagster_home,
    run_cli,
    venv_bin,
)

pytestmark = pytest.mark.e2e

SYNC_TABLES = [report.table for report in CORE_REPORTS]
LAST_FINAL_DAY = today_pacific() - dt.timedelta(days=5)


def readme_section_lines() -> list[str]:
    """The command lines of the README's command-line section (continuations joined)."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Materialize from the command line", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL):
        lines += block.replace("\\\n", " ").splitlines()
    return lines


def readme_materialize_commands() -> list[list[str]]:
    """Each `dagster asset materialize` command of the README's command-line section, as argv."""
    return [shlex.split(line) for line in readme_section_lines() if line.startswith("dagster ")]


def readme_command(option: str, value: str) -> list[str]:
    """The README command that has `option`, with its value replaced and our `dagster` binary."""
    (command,) = [c for c in readme_materialize_commands() if option in c]
    argv = [venv_bin("dagster"), *command[1:]]
    argv[argv.index(option) + 1] = value
    return argv


@pytest.fixture
def cli_env(simulator, tmp_path: Path) -> dict[str, str]:
    home = make_dagster_home(tmp_path / "dagster_home")
    return gsc_env(
        dagster_home=home,
        api_base_url=simulator.base_url,
        sites=simulator.sites,
        database_url=f"sqlite:///{tmp_path / 'warehouse.sqlite'}",
        extra={
            "GSC_DATA_STATE": "final",
            "GSC_START_DATE": (LAST_FINAL_DAY - dt.timedelta(days=20)).isoformat(),
            "GSC_MAX_CONCURRENCY": "4",
        },
    )


def assert_warehouse_matches(env: dict[str, str], simulator, first: dt.date, last: dt.date):
    engine = make_engine(env["GSC_DATABASE_URL"])
    try:
        assert compare_with_simulator(engine, simulator, simulator.sites, first, last) == []
        with engine.connect() as conn:
            for table in SYNC_TABLES:
                dates = conn.execute(sa.text(f"select distinct date from {table}")).scalars()
                assert {dt.date.fromisoformat(str(d)[:10]) for d in dates} == {
                    first + dt.timedelta(days=n) for n in range((last - first).days + 1)
                }
    finally:
        engine.dispose()


def test_readme_commands_are_the_ones_tested():
    commands = readme_materialize_commands()

    assert len(commands) == 3
    assert all(
        c[:5] == ["dagster", "asset", "materialize", "-m", "gsc_assets.definitions"]
        for c in commands
    )
    assert sum("--partition" in c for c in commands) == 1
    assert sum("--partition-range" in c for c in commands) == 1


def test_cli_one_date_exits_0_and_stores_exactly_what_the_api_serves(simulator, cli_env):
    day = LAST_FINAL_DAY

    result = run_cli(readme_command("--partition", day.isoformat()), cli_env)

    assert result.returncode == 0, result.stderr[-3000:]
    assert_warehouse_matches(cli_env, simulator, day, day)
    # Quiet but for Dagster's own notice that this command is superseded by `dg launch`,
    # printed before any of our code loads (README says so).
    (notice,) = warning_lines(result)
    assert "SupersessionWarning: Function `asset_materialize_command` is superseded" in notice


def warning_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Python warning lines (SupersessionWarning, BetaWarning, ...) a command printed."""
    return [line for line in (result.stdout + result.stderr).splitlines() if "Warning:" in line]


def test_readmes_dg_launch_one_date_exits_0_exact_and_quiet(simulator, cli_env):
    day = LAST_FINAL_DAY
    (command,) = [shlex.split(c) for c in readme_section_lines() if c.startswith("dg launch ")]
    command[command.index("--partition") + 1] = day.isoformat()

    result = run_cli([venv_bin("dg"), *command[1:]], cli_env)

    assert result.returncode == 0, result.stderr[-3000:]
    assert_warehouse_matches(cli_env, simulator, day, day)
    assert warning_lines(result) == []


def test_cli_date_range_then_lifetime_exit_0(simulator, cli_env):
    first, last = LAST_FINAL_DAY - dt.timedelta(days=2), LAST_FINAL_DAY

    sync = run_cli(readme_command("--partition-range", f"{first}...{last}"), cli_env)
    (lifetime_command,) = [
        c for c in readme_materialize_commands() if "--select" in c and "gsc_page_lifetime" in c
    ]
    lifetime = run_cli([venv_bin("dagster"), *lifetime_command[1:]], cli_env)

    assert sync.returncode == 0, sync.stderr[-3000:]
    assert lifetime.returncode == 0, lifetime.stderr[-3000:]
    assert_warehouse_matches(cli_env, simulator, first, last)
    engine = make_engine(cli_env["GSC_DATABASE_URL"])
    with engine.connect() as conn:
        pages = conn.execute(sa.text("select count(*) from gsc_page_lifetime")).scalar_one()
        daily_pages = conn.execute(
            sa.text(
                "select count(*) from "
                "(select distinct site_url, search_type, page from gsc_page_daily) p"
            )
        ).scalar_one()
    engine.dispose()
    assert pages == daily_pages > 0


def test_cli_exits_non_zero_when_the_credential_may_not_read_a_site(cli_env):
    cli_env["GSC_SITES"] += ",https://not-ours.example.net/"

    result = run_cli(readme_command("--partition", LAST_FINAL_DAY.isoformat()), cli_env)

    assert result.returncode != 0
    assert "not-ours.example.net" in result.stdout + result.stderr
    assert "permission" in (result.stdout + result.stderr).lower()


def serve_no_page_data(sim) -> None:
    """Google answers every byPage query (page rows and their totals) with nothing, while the
    property totals still show traffic: the audit sees 0 == 0 and passes, `is_complete` must not."""
    service = sim.app.service
    original = service.result

    def result(site_url, spec, today, *args, **kwargs):
        answer = original(site_url, spec, today, *args, **kwargs)
        if spec.aggregation != "byPage":
            return answer
        return dataclasses.replace(answer, rows=[])

    service.result = result


def test_cli_exits_non_zero_when_a_blocking_check_fails(make_simulator, cli_env):
    sim = make_simulator()
    serve_no_page_data(sim)
    cli_env["GSC_API_BASE_URL"] = sim.base_url

    result = run_cli(readme_command("--partition", LAST_FINAL_DAY.isoformat()), cli_env)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "is_complete" in output
    assert "blocking" in output.lower()
    engine = make_engine(cli_env["GSC_DATABASE_URL"])
    with engine.connect() as conn:
        site_rows = conn.execute(sa.text("select count(*) from gsc_site_daily")).scalar_one()
        page_rows = conn.execute(sa.text("select count(*) from gsc_page_daily")).scalar_one()
    engine.dispose()
    assert site_rows == len(sim.sites) and page_rows == 0
