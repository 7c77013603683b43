"""Dagster resources: long-lived objects built once per step process and shared by its threads.

`SearchConsoleResource` owns the token provider, the pooled HTTP client and the quota limiter (whose
state lives in the shared database by default, so concurrent runs share one quota);
`fetcher()` hands out a `PartitionFetcher` bound to them. `WarehouseResource` owns the engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import dagster as dg
import sqlalchemy as sa
from pydantic import PrivateAttr

from gsc_assets.defs.run_guard import RunGuard, start_run_guard
from gsc_assets.defs.slot_wait import DEFAULT_POOL_WAIT_TIMEOUT_SECONDS
from gsc_assets.search_console.client import SearchConsoleClient
from gsc_assets.search_console.credentials import TokenProvider, load_token_provider
from gsc_assets.search_console.fetcher import PartitionFetcher
from gsc_assets.search_console.rate_limiter import InMemoryQuotaStore, QuotaLimiter, QuotaStore
from gsc_assets.search_console.retry import RetryPolicy
from gsc_assets.settings import Settings
from gsc_assets.sync.requests import SharedTotals
from gsc_assets.warehouse.engine import create_schema, ensure_reachable, make_engine
from gsc_assets.warehouse.quota_store import SqlQuotaStore

_T = TypeVar("_T")


_DEFAULTS = Settings()  # every default is written once, in Settings


class SearchConsoleResource(dg.ConfigurableResource):
    """Search Console access for one step: credentials, pooled client, shared quota limiter."""

    api_base_url: str
    credentials_file: str | None = None
    access_token: str | None = None
    token_uri: str | None = None
    qpm_budget: int = _DEFAULTS.qpm_budget
    quota_store: str = _DEFAULTS.quota_store
    quota_database_url: str = _DEFAULTS.database_url
    max_concurrency: int = _DEFAULTS.max_concurrency
    request_timeout_seconds: float = _DEFAULTS.request_timeout_seconds
    max_attempts: int = _DEFAULTS.max_attempts
    load_quota_cooloff_seconds: float = _DEFAULTS.load_quota_cooloff_seconds
    pool_wait_timeout_seconds: float = DEFAULT_POOL_WAIT_TIMEOUT_SECONDS

    _guard: RunGuard | None = PrivateAttr(default=None)
    _tokens: TokenProvider | None = PrivateAttr(default=None)
    _client: SearchConsoleClient | None = PrivateAttr(default=None)
    _limiter: QuotaLimiter | None = PrivateAttr(default=None)
    _quota_engine: sa.Engine | None = PrivateAttr(default=None)
    _shared_totals: SharedTotals | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Build the long-lived objects once per step process."""
        self._tokens = load_token_provider(
            credentials_file=self.credentials_file,
            access_token=self.access_token,
            token_uri=self.token_uri,
        )
        self._client = SearchConsoleClient(
            self.api_base_url,
            self._tokens,
            timeout_seconds=self.request_timeout_seconds,
            pool_size=self.max_concurrency,
        )
        self._limiter = QuotaLimiter(self._build_store(), budget_qpm=self.qpm_budget)
        self._shared_totals = SharedTotals()
        # Last, so a failed setup above leaves no watcher behind: dead runs are failed and their
        # slots freed before this run's steps claim one, and waits for a slot are explained.
        self._guard = start_run_guard(context, self.pool_wait_timeout_seconds)

    def _build_store(self) -> InMemoryQuotaStore | SqlQuotaStore:
        if self.quota_store == "memory":
            return InMemoryQuotaStore()
        self._quota_engine = make_engine(self.quota_database_url)
        # A clear message naming the setting, not a driver traceback from creating the tables.
        ensure_reachable(
            self._quota_engine, setting="GSC_QUOTA_DATABASE_URL (default: GSC_DATABASE_URL)"
        )
        return SqlQuotaStore(self._quota_engine)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Close the HTTP pool and the quota store's connections; stop the run guard."""
        if self._guard is not None:
            self._guard.stop()
        if self._client is not None:
            self._client.close()
        if self._quota_engine is not None:
            self._quota_engine.dispose()

    @property
    def shared_totals(self) -> SharedTotals:
        """Final totals fetched by this run's steps in this process, for the next report that
        reconciles against them (with the default in-process executor: the whole run)."""
        return self._require(self._shared_totals)

    @property
    def credential_id(self) -> str:
        """The quota identity of the credential (never the secret itself)."""
        return self._require(self._tokens).identity

    @property
    def client(self) -> SearchConsoleClient:
        """The pooled client (one HTTP call per `query`)."""
        return self._require(self._client)

    @property
    def shared_quota_store(self) -> QuotaStore:
        """The quota store every run and machine shares (URL Inspection budgets live there too)."""
        return self._require(self._limiter).store

    def fetcher(
        self,
        *,
        cancel_event: threading.Event | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> PartitionFetcher:
        """A fetcher over this step's client and the shared limiter; close it when done."""
        return PartitionFetcher(
            self.client,
            self._require(self._limiter),
            credential_id=self.credential_id,
            max_concurrency=self.max_concurrency,
            retry_policy=RetryPolicy(
                max_attempts=self.max_attempts,
                load_quota_cooloff_seconds=self.load_quota_cooloff_seconds,
            ),
            cancel_event=cancel_event,
            progress=progress,
        )

    @contextmanager
    def open_fetcher(
        self, *, progress: Callable[[str], None] | None = None
    ) -> Iterator[PartitionFetcher]:
        """A fetcher for one step. On exit - success, a permanent error, or run termination from
        the UI (Dagster interrupts the step) - everything queued is cancelled: no request outlives
        the step. Its `stats` stay readable afterwards."""
        cancel = threading.Event()
        fetcher = self.fetcher(cancel_event=cancel, progress=progress)
        try:
            yield fetcher
        finally:
            cancel.set()
            fetcher.close()

    @staticmethod
    def _require(value: _T | None) -> _T:
        if value is None:
            raise RuntimeError("SearchConsoleResource used outside a run (not set up)")
        return value


class WarehouseResource(dg.ConfigurableResource):
    """The SQL warehouse: one engine per step process, schema created on first use."""

    database_url: str

    _engine: sa.Engine | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Connect and make sure every table exists."""
        self._engine = make_engine(self.database_url)
        create_schema(self._engine)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Release pooled connections."""
        if self._engine is not None:
            self._engine.dispose()

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine."""
        if self._engine is None:
            raise RuntimeError("WarehouseResource used outside a run (not set up)")
        return self._engine
