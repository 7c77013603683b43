"""Real processes for end-to-end tests: the simulator, the Dagster CLI and `dagster dev`.

Contract:
- every process runs from the repository root with the test's own environment (`gsc_env`), never
  the developer's GSC_* settings, and a temporary absolute `DAGSTER_HOME` (`make_dagster_home`);
- ports are free ports on 127.0.0.1 chosen at start (`free_port`); a server counts as started only
  once it answers over HTTP, and a process that exits while starting raises with its output;
- output goes to a log file (never an unread pipe that could fill and block the child);
- `stop()` ends the process group it started (SIGTERM, then SIGKILL after a grace period) and is
  safe to call twice; use the classes as context managers.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS_MODULE = "gsc_assets.definitions"
SIMULATOR_TOKEN = "sim-token"
START_TIMEOUT_SECONDS = 120.0  # a guard against hanging, not an assertion about speed
STOP_GRACE_SECONDS = 15.0

# The variables the test environment keeps from the parent; all GSC_* of the parent are dropped.
_KEPT_TEST_VARIABLES = frozenset({"GSC_TEST_POSTGRES_URL", "GSC_REQUIRE_POSTGRES"})


def venv_bin(name: str) -> str:
    """Path of a console script installed beside this interpreter (`dagster`, `dagster-daemon`)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed beside {sys.executable} nor on PATH")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_dagster_home(directory: Path, instance_yaml: str | Path | None = None) -> Path:
    """Create `directory` as a DAGSTER_HOME holding `instance_yaml` as its dagster.yaml.

    `instance_yaml` is a path to copy or the YAML text itself; None copies the repository's own
    `dagster.yaml`, so tests exercise the shipped concurrency caps.
    """
    home = directory.resolve()
    home.mkdir(parents=True, exist_ok=True)
    if instance_yaml is None:
        instance_yaml = REPO_ROOT / "deploy" / "dagster.yaml"
    if isinstance(instance_yaml, Path):
        shutil.copyfile(instance_yaml, home / "dagster.yaml")
    else:
        (home / "dagster.yaml").write_text(instance_yaml)
    return home


def init_dagster_home(
    directory: Path, storage: str = "sqlite", env: Mapping[str, str] | None = None
) -> Path:
    """Prepare `directory` as DAGSTER_HOME the documented way: `python -m gsc_assets.instance init`
    (the shipped instance file, storage migrated once). `env` must hold GSC_DAGSTER_PG_URL for
    postgres."""
    home = directory.resolve()
    result = run_cli(
        [sys.executable, "-m", "gsc_assets.instance", "--home", str(home), "init",
         "--storage", storage],
        dict(env) if env is not None else gsc_env(dagster_home=home),
        timeout_seconds=START_TIMEOUT_SECONDS,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"instance init failed:\n{result.stdout}\n{result.stderr}")
    return home


def materialize_args(
    selection: Sequence[str],
    partition: str | None = None,
    partition_range: tuple[str, str] | None = None,
) -> list[str]:
    """The `dagster asset materialize -m gsc_assets.definitions ...` command line."""
    args = [venv_bin("dagster"), "asset", "materialize", "-m", DEFINITIONS_MODULE]
    args += ["--select", ",".join(selection)]
    if partition is not None:
        args += ["--partition", partition]
    if partition_range is not None:
        args += ["--partition-range", f"{partition_range[0]}...{partition_range[1]}"]
    return args


def start_materialize(
    selection: Iterable[str],
    env: Mapping[str, str],
    log_path: Path,
    *,
    partition: str | None = None,
    partition_range: tuple[str, str] | None = None,
) -> ManagedProcess:
    """`dagster asset materialize ...` in its own process group (as `dagster_materialize`)."""
    return ManagedProcess(materialize_args(selection, partition, partition_range), env, log_path)


def gsc_env(
    *,
    dagster_home: Path,
    api_base_url: str | None = None,
    sites: Sequence[str] = (),
    database_url: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a child process: the parent's minus GSC_*, plus the given settings."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("GSC_") or k in _KEPT_TEST_VARIABLES
    }
    env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    env["DAGSTER_HOME"] = str(dagster_home)
    env["PYTHONUNBUFFERED"] = "1"
    if api_base_url is not None:
        env["GSC_API_BASE_URL"] = api_base_url
        env["GSC_ACCESS_TOKEN"] = SIMULATOR_TOKEN
    if sites:
        env["GSC_SITES"] = ",".join(sites)
    if database_url is not None:
        env["GSC_DATABASE_URL"] = database_url
    env.update(extra or {})
    return env


def run_cli(
    args: Sequence[str], env: Mapping[str, str], timeout_seconds: float = 300.0
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion from the repository root; stdout and stderr captured as text."""
    return subprocess.run(
        list(args),
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_seconds,
        check=False,
    )


def dagster_materialize(
    selection: Iterable[str],
    env: Mapping[str, str],
    *,
    partition: str | None = None,
    partition_range: tuple[str, str] | None = None,
    timeout_seconds: float = 300.0,
) -> subprocess.CompletedProcess[str]:
    """`dagster asset materialize -m gsc_assets.definitions --select ... [--partition[-range]]`."""
    return run_cli(materialize_args(selection, partition, partition_range), env, timeout_seconds)


def http_json(url: str, payload: Mapping[str, Any] | None = None, timeout: float = 10.0) -> Any:
    """GET `url` (or POST `payload` as JSON) and decode the JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


class ManagedProcess:
    """A child process in its own process group, logging to a file, stopped by group id."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], log_path: Path) -> None:
        self.args = list(args)
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            self.args,
            cwd=REPO_ROOT,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stop() reaches its children, and only them
        )

    def output(self) -> str:
        """Everything the process has written so far."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_until(
        self, ready: Callable[[], bool], what: str, timeout_seconds: float = START_TIMEOUT_SECONDS
    ) -> None:
        """Poll `ready()` until true; raise if the process exits first or the guard expires."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.args[0]} exited with {self.process.returncode} before {what}:\n"
                    + self.output()[-5000:]
                )
            try:
                if ready():
                    return
            except (OSError, urllib.error.URLError, ValueError):
                pass  # not listening yet
            time.sleep(0.25)
        self.stop()
        raise TimeoutError(f"{what} not within {timeout_seconds:.0f} s:\n" + self.output()[-5000:])

    def stop(self) -> int | None:
        """Terminate the process group; return the exit code (None if it had to be killed)."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(STOP_GRACE_SECONDS)
                self._log.close()
                return None
        # Children (code servers, run workers) may outlive the leader briefly; end them too.
        self._signal_group(signal.SIGKILL)
        self._log.close()
        return self.process.returncode

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class SimulatorProcess(ManagedProcess):
    """`python -m gsc_assets.simulator --port <free>` with its admin endpoints over HTTP."""

    def __init__(self, log_dir: Path, *options: str, port: int | None = None) -> None:
        self.port = port or free_port()
        args = [sys.executable, "-m", "gsc_assets.simulator", "--port", str(self.port), *options]
        super().__init__(
            args, gsc_env(dagster_home=log_dir), log_dir / f"simulator-{self.port}.log"
        )
        self.wait_until(lambda: self.stats() is not None, f"the simulator on port {self.port}")

    @property
    def base_url(self) -> str:
        """Use as GSC_API_BASE_URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def sites(self) -> tuple[str, ...]:
        """The simulated properties, as printed by the simulator at start."""
        for line in self.output().splitlines():
            if line.startswith("sites: "):
                return tuple(line.removeprefix("sites: ").split(", "))
        raise RuntimeError("the simulator did not print its sites:\n" + self.output())

    def stats(self) -> dict[str, Any]:
        """`GET /_sim/stats`."""
        return http_json(f"{self.base_url}/_sim/stats")

    def configure(self, **changes: Any) -> dict[str, Any]:
        """`POST /_sim/config` with a partial configuration; returns the configuration in force."""
        return http_json(f"{self.base_url}/_sim/config", changes)

    def reset(self) -> None:
        """`POST /_sim/reset`: forget statistics and quota windows."""
        http_json(f"{self.base_url}/_sim/reset", {})


class DagsterDevProcess(ManagedProcess):
    """`dg dev` in the checkout (webserver + daemon on the project's code location, what the
    README and `demo --ui` run) on a free port.

    `env` must hold DAGSTER_HOME (see `gsc_env`). Started means the webserver answers
    `/server_info`; call `wait_for_daemons()` before relying on schedules, queues or backfills.
    """

    def __init__(self, env: Mapping[str, str], log_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dagster_home = Path(env["DAGSTER_HOME"])
        args = [
            venv_bin("dg"), "dev", "--host", "127.0.0.1", "--port", str(self.port),
        ]  # fmt: skip
        super().__init__(args, env, log_dir / f"dagster-dev-{self.port}.log")
        self.wait_until(
            lambda: http_json(f"{self.url}/server_info") is not None,
            f"the Dagster webserver on port {self.port}",
        )

    @property
    def url(self) -> str:
        """Base URL of the UI (GraphQL at `{url}/graphql`)."""
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST a GraphQL query; raise when the answer carries errors."""
        answer = http_json(
            f"{self.url}/graphql", {"query": query, "variables": dict(variables or {})}
        )
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    def wait_for_daemons(
        self,
        daemon_types: Sequence[str] = ("SCHEDULER", "QUEUED_RUN_COORDINATOR", "BACKFILL"),
        timeout_seconds: float = START_TIMEOUT_SECONDS,
    ) -> None:
        """Wait until each daemon type has written a heartbeat into this DAGSTER_HOME's instance."""
        with open_instance(self.dagster_home) as instance:
            self.wait_until(
                lambda: set(daemon_types) <= set(instance.get_daemon_heartbeats()),
                f"heartbeats of {', '.join(daemon_types)}",
                timeout_seconds,
            )


def open_instance(dagster_home: Path) -> Any:
    """The DagsterInstance configured by `dagster_home`/dagster.yaml (use as a context manager)."""
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
