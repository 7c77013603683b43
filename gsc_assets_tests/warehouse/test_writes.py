"""Contract of `replace_partition`: each (site, date, search type) slice of a report is replaced
atomically, in one transaction with its sync-log row and the caller's audit; a reader sees the old
slice or the new one, never a mix; text and floats round-trip exactly; other slices are untouched.
"""

from __future__ import annotations

import datetime as dt
import random
import string
import threading

import pytest
import sqlalchemy as sa

from gsc_assets.reports.catalogue import PAGE_QUERY_REPORT, PAGE_REPORT, SITE_REPORT
from gsc_assets.reports.report import Report
from gsc_assets.reports.slices import DaySlice, ReportData
from gsc_assets.reports.vocabulary import SearchType
from gsc_assets.warehouse.frames import read_table
from gsc_assets.warehouse.schema import gsc_sync_log, table_for
from gsc_assets.warehouse.writes import replace_partition

SITE = "https://www.example.com/"
DAY = dt.date(2024, 1, 3)


def make_batch(
    report: Report,
    keys: list[tuple[str, ...]],
    *,
    day: dt.date = DAY,
    site: str = SITE,
    search_type: SearchType = SearchType.WEB,
    clicks: float = 1.0,
    position: float | None = 2.5,
) -> ReportData:
    rows = [(day.isoformat(), *key, clicks, 10.0, clicks / 10.0, position) for key in keys]
    return ReportData(DaySlice(site, day, search_type), report, rows, requests=1, pages=1)


def page_batch(pages: list[str], **kwargs) -> ReportData:
    return make_batch(PAGE_REPORT, [(page,) for page in pages], **kwargs)


def stored_rows(engine: sa.Engine, report: Report, **filters) -> list[tuple]:
    table = table_for(report)
    stmt = sa.select(table).where(*(table.c[k] == v for k, v in filters.items()))
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(stmt))


def count_slice(engine: sa.Engine, report: Report, day: dt.date = DAY) -> int:
    table = table_for(report)
    stmt = sa.select(sa.func.count()).select_from(table).where(table.c.date == day)
    with engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def sync_log_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(gsc_sync_log)).scalar_one()


def test_replace_partition_removes_stale_rows(warehouse_engine):
    replace_partition(warehouse_engine, PAGE_REPORT, [page_batch(["/a", "/b", "/c"])])
    result = replace_partition(
        warehouse_engine, PAGE_REPORT, [page_batch(["/b", "/d"], clicks=3.0)]
    )

    rows = stored_rows(warehouse_engine, PAGE_REPORT)
    assert [(row[3], row[4]) for row in rows] == [("/b", 3.0), ("/d", 3.0)]
    assert (result.rows_deleted, result.rows_inserted) == (3, 2)
    assert result.slices == (DaySlice(SITE, DAY, SearchType.WEB),)


def test_replace_partition_rerun_leaves_no_duplicates(warehouse_engine):
    batch = make_batch(PAGE_QUERY_REPORT, [("/a", "q1"), ("/a", "q2"), ("/b", "q1")])
    for _ in range(3):
        replace_partition(warehouse_engine, PAGE_QUERY_REPORT, [batch])

    assert len(stored_rows(warehouse_engine, PAGE_QUERY_REPORT)) == 3
    assert sync_log_count(warehouse_engine) == 3


def test_replace_partition_leaves_other_slices_untouched(warehouse_engine):
    others = [
        page_batch(["/a"], day=DAY + dt.timedelta(days=1)),
        page_batch(["/a"], site="sc-domain:example.org"),
        page_batch(["/a"], search_type=SearchType.IMAGE),
    ]
    replace_partition(warehouse_engine, PAGE_REPORT, [page_batch(["/a", "/b"]), *others])
    before = stored_rows(warehouse_engine, PAGE_REPORT)

    replace_partition(warehouse_engine, PAGE_REPORT, [page_batch(["/z"])])

    after = stored_rows(warehouse_engine, PAGE_REPORT)
    untouched = [row for row in before if (row[0], row[1], row[2]) != (SITE, DAY, "web")]
    assert len(untouched) == 3
    assert [row for row in after if row not in untouched] == [
        (SITE, DAY, "web", "/z", 1.0, 10.0, 0.1, 2.5)
    ]


def test_replace_partition_failed_audit_keeps_previous_version(warehouse_engine):
    replace_partition(warehouse_engine, PAGE_REPORT, [page_batch(["/old"])])
    seen_inside: list[int] = []

    def audit(conn: sa.Connection) -> None:
        seen_inside.append(
            conn.execute(sa.text("SELECT count(*) FROM gsc_page_daily")).scalar_one()
        )
        raise RuntimeError("audit failed")

    with pytest.raises(RuntimeError, match="audit failed"):
        replace_partition(warehouse_engine, PAGE_REPORT, [page_batch(["/n1", "/n2"])], audit=audit)

    assert seen_inside == [2]
    assert [row[3] for row in stored_rows(warehouse_engine, PAGE_REPORT)] == ["/old"]
    assert sync_log_count(warehouse_engine) == 1


def test_replace_partition_reader_never_sees_a_partial_slice(warehouse_engine):
    old_keys = [(f"/p{i % 50}", f"old {i}") for i in range(3_000)]
    new_keys = [(f"/p{i % 50}", f"new {i}") for i in range(5_000)]
    replace_partition(
        warehouse_engine, PAGE_QUERY_REPORT, [make_batch(PAGE_QUERY_REPORT, old_keys)]
    )
    writing, observed = threading.Event(), []

    def reader() -> None:
        while writing.is_set():
            observed.append(count_slice(warehouse_engine, PAGE_QUERY_REPORT))

    def slow_audit(conn: sa.Connection) -> None:
        # Keep the transaction open with the new rows inserted while the reader polls.
        deadline = len(observed) + 5
        while len(observed) < deadline:
            threading.Event().wait(0.01)

    writing.set()
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        replace_partition(
            warehouse_engine,
            PAGE_QUERY_REPORT,
            [make_batch(PAGE_QUERY_REPORT, new_keys)],
            audit=slow_audit,
        )
        observed.append(count_slice(warehouse_engine, PAGE_QUERY_REPORT))
    finally:
        writing.clear()
        thread.join(timeout=10)

    assert set(observed) <= {3_000, 5_000}
    assert 3_000 in observed
    assert observed[-1] == 5_000


def test_replace_partition_serialises_concurrent_writers_of_one_slice(warehouse_engine):
    batches = [page_batch([f"/{writer}-{i}" for i in range(500)]) for writer in "abcd"]
    errors: list[BaseException] = []

    def write(batch: ReportData) -> None:
        try:
            replace_partition(warehouse_engine, PAGE_REPORT, [batch])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    pages = {row[3] for row in stored_rows(warehouse_engine, PAGE_REPORT)}
    assert len(pages) == 500
    assert len({page.split("-")[0] for page in pages}) == 1


AWKWARD_TEXTS = [
    'it\'s "quoted"',
    "a; DROP TABLE gsc_page_daily; --",
    "tab\there",
    "new\nline and\r\ncarriage",
    "back\\slash \\N \\. end\\",
    'csv "", ,comma',
    "unicode: ünïcødé 日本語 🎉 \u200b",
    "",
    " leading and trailing ",
]


def test_replace_partition_round_trips_awkward_text_exactly(warehouse_engine):
    rng = random.Random(7)
    long_text = "".join(rng.choice(string.printable) for _ in range(2_000))
    keys = [(f"/page/{text}", text) for text in AWKWARD_TEXTS]
    keys += [("/long-query", long_text), (f"/{long_text}", "long page")]
    replace_partition(warehouse_engine, PAGE_QUERY_REPORT, [make_batch(PAGE_QUERY_REPORT, keys)])

    frame = read_table(warehouse_engine, PAGE_QUERY_REPORT.table, date=DAY)

    assert sorted(zip(frame["page"], frame["query"], strict=True)) == sorted(keys)


def test_replace_partition_stores_missing_position_as_null(warehouse_engine):
    batch = page_batch(["/a", "/b"], search_type=SearchType.DISCOVER, position=None)
    replace_partition(warehouse_engine, PAGE_REPORT, [batch])

    with warehouse_engine.connect() as conn:
        nulls = conn.execute(
            sa.text("SELECT count(*) FROM gsc_page_daily WHERE position IS NULL")
        ).scalar_one()
    assert nulls == 2


def test_replace_partition_round_trips_floats_exactly(warehouse_engine):
    values = (0.1 + 0.2, 1e-17, 123456789.123456789, 1 / 3)
    rows = [(DAY.isoformat(), *values)]
    batch = ReportData(DaySlice(SITE, DAY), SITE_REPORT, rows)
    replace_partition(warehouse_engine, SITE_REPORT, [batch])

    assert stored_rows(warehouse_engine, SITE_REPORT) == [(SITE, DAY, "web", *values)]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("2024-01-04", "/a", 1.0, 1.0, 1.0, 1.0)], "other dates"),
        ([(DAY.isoformat(), "/a", 1.0, 1.0, 1.0)], "fields"),
    ],
)
def test_replace_partition_rejects_rows_that_do_not_fit_the_slice(warehouse_engine, rows, message):
    replace_partition(warehouse_engine, PAGE_REPORT, [page_batch(["/kept"])])
    bad = ReportData(DaySlice(SITE, DAY), PAGE_REPORT, rows)

    with pytest.raises(ValueError, match=message):
        replace_partition(
            warehouse_engine, PAGE_REPORT, [page_batch(["/x"], day=DAY + dt.timedelta(1)), bad]
        )

    assert [row[3] for row in stored_rows(warehouse_engine, PAGE_REPORT)] == ["/kept"]
    assert sync_log_count(warehouse_engine) == 1


def test_replace_partition_rejects_mismatched_or_repeated_batches(warehouse_engine):
    with pytest.raises(ValueError, match="holds report 'page'"):
        replace_partition(warehouse_engine, PAGE_QUERY_REPORT, [page_batch(["/a"])])
    with pytest.raises(ValueError, match="appears twice"):
        replace_partition(warehouse_engine, PAGE_REPORT, [page_batch(["/a"]), page_batch(["/b"])])


def test_replace_partition_writes_many_slices_in_one_call(warehouse_engine):
    batches = [page_batch(["/a", "/b"], day=DAY + dt.timedelta(days=n)) for n in range(3)]
    result = replace_partition(warehouse_engine, PAGE_REPORT, batches, run_id="run-1")

    assert result.rows_inserted == 6
    assert len(result.slices) == 3
    assert sync_log_count(warehouse_engine) == 3


def test_replace_partition_with_no_rows_empties_the_slice(warehouse_engine):
    replace_partition(warehouse_engine, PAGE_REPORT, [page_batch(["/a"])])
    result = replace_partition(warehouse_engine, PAGE_REPORT, [page_batch([])])

    assert (result.rows_deleted, result.rows_inserted) == (1, 0)
    assert stored_rows(warehouse_engine, PAGE_REPORT) == []
