"""Variables of the code location, not of one Search Console instance (no component field)."""

from __future__ import annotations

# Settings of the code location, not of one instance (the executor is one per location; the
# instance file is Dagster's): the environment names them, so do the README and .env.example.
LOCATION_VARIABLES: dict[str, str] = {
    "GSC_EXECUTOR": "`in_process` (default: a run's steps in the run's own process, sharing one "
    "HTTP pool and limiter; requests are concurrent inside each step), `multiprocess` (each step "
    "in its own process) or `celery` (steps run on dagster-celery workers; install the `celery` "
    "extra, see docs/deploy.md)",
    "GSC_CELERY_BROKER_URL": "Celery broker the steps are queued on, e.g. "
    "`pyamqp://guest@rabbitmq:5672//`; required when GSC_EXECUTOR=celery; secret",
    "GSC_CELERY_BACKEND_URL": "Celery result backend (default `rpc://`)",
    "GSC_CELERY_QUEUE": "Celery queue the steps go to; start workers with `-q` this name "
    "(default `dagster`)",
    "GSC_POOL_WAIT_TIMEOUT_SECONDS": "a step waiting longer than this for a `gsc_api` slot fails "
    "the run, naming the holders (default 3600; 0 = no limit)",
    "GSC_DAGSTER_PG_URL": "the Dagster instance's PostgreSQL URL "
    "(`postgresql+psycopg2://user@host/db`), read only by `deploy/dagster_postgres.yaml`; "
    "default: the instance is SQLite under DAGSTER_HOME; secret",
}
