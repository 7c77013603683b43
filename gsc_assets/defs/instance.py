"""Instance set-up and upkeep from the command line: `python -m gsc_assets.instance init|reap`.

- `init` creates `$DAGSTER_HOME` with the repository's instance file and migrates its storage
  once (what `dagster instance migrate` does). Without it, the first Dagster processes to open a
  brand-new home all create the storage at once, and all but one fail ("table alembic_version
  already exists"); after it, any number of runs may start together. Safe to repeat: an existing
  instance file is kept (unless `--force`), and migrating an up-to-date storage changes nothing.
- `reap` fails the runs whose process is gone on this machine and frees their pool slots (see
  run_hygiene); every run also does this when it starts, so CI and cron need it only to clean
  up without starting a run.
"""

from __future__ import annotations

import argparse
import fcntl
import filecmp
import os
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from gsc_assets.defs.assets import API_POOL
from gsc_assets.defs.run_hygiene import reap_dead_runs

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_FILES = {"sqlite": "deploy/dagster.yaml", "postgres": "deploy/dagster_postgres.yaml"}
LOCK_NAME = ".gsc_instance_init.lock"


class InstanceSetupError(RuntimeError):
    """A setting the command needs is missing or wrong; the message names it."""


def resolve_home(home: str | None, environ: Mapping[str, str]) -> Path:
    """The DAGSTER_HOME to use: `--home`, else the DAGSTER_HOME variable, made absolute."""
    raw = home or environ.get("DAGSTER_HOME", "").strip()
    if not raw:
        raise InstanceSetupError(
            "DAGSTER_HOME: not set; export DAGSTER_HOME=/absolute/path (or pass --home)"
        )
    return Path(raw).expanduser().resolve()


def init_instance(home: Path, source: Path, *, force: bool = False) -> list[str]:
    """Create `home` holding `source` as dagster.yaml and migrate its storage; returns what was
    done, one line each. Serialized by a lock file, so concurrent inits are safe too."""
    if not source.is_file():
        raise InstanceSetupError(f"--config: instance file {source} does not exist")
    home.mkdir(parents=True, exist_ok=True)
    done = []
    with _locked(home / LOCK_NAME):
        target = home / "dagster.yaml"
        if not target.exists() or force:
            shutil.copyfile(source, target)
            done.append(f"wrote {target} from {source}")
        elif not filecmp.cmp(source, target, shallow=False):
            done.append(f"kept {target}: it differs from {source} (--force replaces it)")
        else:
            done.append(f"{target} is already {source.name}")
        with open_instance(home) as instance:
            instance.upgrade(print_fn=lambda _: None)
            done.append(f"instance storage migrated: {type(instance.run_storage).__name__}")
            # Parallel first runs would each create the pool's limit row; on Postgres all but
            # one then fail (duplicate key on concurrency_limits), so it is created here, once.
            if instance.event_log_storage.initialize_concurrency_limit_to_default(API_POOL):
                limit = instance.event_log_storage.get_concurrency_info(API_POOL).slot_count
                done.append(f"pool {API_POOL}: {limit} slots")
    return done


def open_instance(home: Path) -> dg.DagsterInstance:
    """The instance `home`/dagster.yaml configures (a context manager)."""
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def reap(home: Path) -> list[str]:
    """Fail dead runs and free their slots; returns one line per run."""
    with open_instance(home) as instance:
        reaped = reap_dead_runs(instance)
    return [f"run {run.run_id} ({run.previous_status}): {run.reason}" for run in reaped]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        home = resolve_home(args.home, os.environ)
        if args.command == "init":
            config = Path(args.config) if args.config else REPO_ROOT / INSTANCE_FILES[args.storage]
            lines = init_instance(home, config, force=args.force)
        else:
            if not (home / "dagster.yaml").exists():
                raise InstanceSetupError(
                    f"DAGSTER_HOME: {home} has no dagster.yaml; run `python -m gsc_assets.instance"
                    " init` first"
                )
            lines = reap(home) or ["no dead run holds anything"]
    except InstanceSetupError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201 - a command-line tool
        return 2
    for line in lines:
        print(line)  # noqa: T201 - a command-line tool
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gsc_assets.instance", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--home", help="DAGSTER_HOME to use (default: the DAGSTER_HOME variable)")
    commands = parser.add_subparsers(dest="command", required=True)
    init = commands.add_parser("init", help="create DAGSTER_HOME and migrate its storage once")
    init.add_argument(
        "--storage",
        choices=sorted(INSTANCE_FILES),
        default="sqlite",
        help="sqlite: deploy/dagster.yaml; postgres: deploy/dagster_postgres.yaml "
        "(needs GSC_DAGSTER_PG_URL)",
    )
    init.add_argument("--config", help="another instance file to install instead")
    init.add_argument("--force", action="store_true", help="replace an existing dagster.yaml")
    commands.add_parser("reap", help="fail runs whose process is gone and free their slots")
    return parser
