"""Contract: FetchStats counts from many threads exactly; as_metadata holds only numbers."""

import threading

from gsc_assets.search_console.telemetry import FetchStats
from gsc_assets_tests.fakes import FakeClock


def test_fetch_stats_records_from_many_threads_without_losing_counts():
    stats = FetchStats(clock=FakeClock())

    def record():
        for _ in range(1000):
            stats.request_started()
            stats.add("retries")
            stats.request_finished(0.01)

    threads = [threading.Thread(target=record) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stats.requests == 8000
    assert stats.retries == 8000
    assert 1 <= stats.peak_in_flight <= 8


def test_fetch_stats_tracks_peaks_latency_percentiles_and_qpm():
    clock = FakeClock()
    stats = FetchStats(budget_qpm=960, clock=clock)
    for _ in range(3):
        stats.request_started()
    for latency_ms in range(1, 101):
        if latency_ms > 3:
            stats.request_started()
        clock.advance(0.3)
        stats.request_finished(latency_ms / 1000)
    stats.observe_queue_depth(5)
    stats.observe_queue_depth(2)
    assert stats.peak_in_flight == 3
    assert stats.peak_queue_depth == 5
    assert stats.latency_percentile_ms(50) == 50.0
    assert stats.latency_percentile_ms(95) == 95.0
    assert stats.latency_percentile_ms(99) == 99.0
    assert stats.elapsed_seconds == 30.0 or abs(stats.elapsed_seconds - 30.0) < 1e-6
    # 100 requests within 30 s: all of them in one minute, so 100 QPM (not 100 / 30 s = 200).
    assert abs(stats.achieved_qpm - 100.0) < 1e-6
    assert stats.busiest_minute_requests == 100


def test_achieved_qpm_is_the_average_over_runs_longer_than_a_minute_and_busiest_minute_exact():
    clock = FakeClock()
    stats = FetchStats(budget_qpm=960, clock=clock)
    # 14 requests in a 2 s burst: 14 QPM, not 420.
    for _ in range(14):
        stats.request_started()
        clock.advance(2 / 14)
        stats.request_finished(0.01)
    assert stats.achieved_qpm == 14.0
    # After a 100 s pause, 2 requests a second for 3 minutes: 374 requests over ~282 s.
    clock.advance(100)
    for _ in range(360):
        clock.advance(0.5)
        stats.request_started()
        stats.request_finished(0.0)
    assert abs(stats.achieved_qpm - 374 / stats.elapsed_seconds * 60.0) < 1e-9
    assert 75 < stats.achieved_qpm < 85
    # The busiest minute is any 60 s of the steady part: the burst was 100 s before it.
    assert stats.busiest_minute_requests == 120
    assert stats.as_metadata()["busiest_minute_requests"] == 120


def test_as_metadata_returns_only_ints_and_floats():
    stats = FetchStats(budget_qpm=60, clock=FakeClock())
    stats.request_started()
    stats.request_finished(0.2)
    stats.add("limiter_wait_seconds", 1.5)
    metadata = stats.as_metadata()
    assert all(type(v) in (int, float) for v in metadata.values()), metadata
    for key in (
        "requests",
        "retries",
        "throttled",
        "load_quota_pauses",
        "token_refreshes",
        "rows",
        "limiter_wait_seconds",
        "peak_in_flight",
        "peak_queue_depth",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_p99_ms",
        "elapsed_seconds",
        "achieved_qpm",
        "busiest_minute_requests",
        "budget_qpm",
    ):
        assert key in metadata
    assert metadata["latency_p99_ms"] == 200.0


def test_since_gives_the_delta_after_a_snapshot():
    stats = FetchStats(clock=FakeClock())
    stats.add("rows", 10)
    before = stats.snapshot()
    stats.add("rows", 5)
    stats.add("throttled")
    delta = stats.since(before)
    assert (delta.rows, delta.throttled) == (5, 1)
    assert before.rows == 10
