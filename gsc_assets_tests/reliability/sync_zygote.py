"""A pre-imported sync launcher for crash tests.

`python -m gsc_assets_tests.reliability.sync_zygote FIRST LAST`.

Importing Dagster takes seconds; killing twenty runs must not. This process imports everything
and builds the definitions once (from its environment: GSC_* as for any run), then for every
`run` line on stdin forks a run process that materializes the sync assets for [FIRST, LAST] in
a fresh ephemeral instance. Protocol on stdout, one line each:
`started <pid>`; from the run process `write+ <table> <date>` / `write- <table> <date>` around
each partition write and `done <success>`; then `exited <pid> <status>` once it is reaped
(a SIGKILL shows as status -9).
"""

from __future__ import annotations

import datetime as dt
import os
import sys

import dagster as dg

import gsc_assets.warehouse.publish as publish_module
from gsc_assets.definitions import build_definitions
from gsc_assets.defs.runs import materialize_dates
from gsc_assets.reports.catalogue import CORE_REPORTS


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())  # unbuffered: the line exists even if SIGKILL follows


def traced_replace_partition(real):  # type: ignore[no-untyped-def]
    def replace_partition(engine, report, batches, **kwargs):  # type: ignore[no-untyped-def]
        date = batches[0].day.date.isoformat() if batches else "-"
        say(f"write+ {report.table} {date}")
        result = real(engine, report, batches, **kwargs)
        say(f"write- {report.table} {date}")
        return result

    return replace_partition


def run(defs: dg.Definitions, first: dt.date, last: dt.date) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        tables = [report.table for report in CORE_REPORTS]
        result = materialize_dates(defs, tables, first, last, instance=instance)
    say(f"done {result.success}")


def main() -> None:
    first, last = (dt.date.fromisoformat(arg) for arg in sys.argv[1:3])
    publish_module.replace_partition = traced_replace_partition(publish_module.replace_partition)
    defs = build_definitions()
    say("ready")
    for line in sys.stdin:
        if line.strip() != "run":
            break
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                run(defs, first, last)
            except BaseException as exc:  # report, then leave without running the zygote's code
                say(f"done error {type(exc).__name__}")
                code = 1
            os._exit(code)
        say(f"started {pid}")
        _, status = os.waitpid(pid, 0)
        say(f"exited {pid} {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    main()
