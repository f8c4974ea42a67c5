"""The bot on a real three-master Redis Cluster: the journey, a broadcast, the scheduler's reminders, the key moves.

Each group runs the project's own tests again in a pytest of its own with RRBOT_TEST_REDIS=cluster, which makes
the `redis` fixture a cluster client (tests/conftest.py; the cluster from tests/redis_cluster.py). A command that
touches keys of two hash slots in one script or transaction fails there with CROSSSLOT, which a single Redis
never shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.ground.redis_client import client_from_url
from bot.ground.settings import SettingsError, StoreSettings, load_settings

ROOT = Path(__file__).resolve().parent.parent

GROUPS = {
    "journey": ["tests/test_journey.py"],
    "key moves": ["tests/test_keymoves.py"],
    "scheduler planning": [
        "tests/test_scheduler.py::test_reconcile_plans_moves_and_drops_the_reminders_of_a_case",
        "tests/test_scheduler.py::test_a_job_that_fails_is_reported_to_coordinators",
    ],
    "broadcast": ["tests/test_delivery.py::test_every_subscriber_gets_the_broadcast_once"],
    "reminders": [
        "tests/test_scheduler.py::test_a_due_reminder_reaches_only_followers_who_have_not_acted",
        "tests/test_scheduler.py::test_a_day_reminder_fires_at_ten_in_the_cases_timezone",
        "tests/test_scheduler.py::test_a_reminder_planned_before_a_restart_fires_once_after_it",
        "tests/test_scheduler.py::test_two_schedulers_one_runs_the_jobs_and_the_other_takes_over",
        "tests/test_scheduler.py::test_a_missed_job_runs_within_the_grace_window_and_is_reported_beyond_it",
    ],
}


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(
    not (shutil.which("redis-server") and shutil.which("redis-cli")), reason="needs redis-server and redis-cli"
)
@pytest.mark.parametrize("group", list(GROUPS))
def test_on_a_redis_cluster(group: str) -> None:
    if os.environ.get("RRBOT_TEST_REDIS") == "cluster":
        pytest.skip("already on a cluster: this test starts the runs on one")
    env = {**os.environ, "RRBOT_TEST_REDIS": "cluster"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *GROUPS[group]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    summary = run.stdout.strip().splitlines()[-1:] or [""]
    failures = [line for line in run.stdout.splitlines() if line.startswith(("FAILED", "ERROR", "E  "))]
    assert run.returncode == 0, f"{group} on a Redis Cluster: {summary[0]}\n" + "\n".join(failures[:20])
    assert " passed" in summary[0] and "skipped" not in summary[0], summary[0]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"redis_cluster": "1"}, "REDIS_CLUSTER needs REDIS_URL: the address of any node of the cluster"),
        (
            {"redis_cluster": "1", "redis_url": "redis://10.0.0.1:6379/3"},
            "REDIS_URL is invalid: a Redis Cluster has database 0 only",
        ),
        ({"redis_url": "redis+cluster://10.0.0.1:6379/2"}, "REDIS_URL is invalid: a Redis Cluster has database 0 only"),
        ({"redis_cluster": "1", "redis_url": "unix:///run/redis.sock"}, "REDIS_CLUSTER needs a host:port REDIS_URL"),
    ],
)
def test_a_cluster_setting_that_cannot_work_stops_start_up_in_one_line(given: dict, said: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(StoreSettings, _env_file=None, **given)
    assert str(raised.value).startswith(said) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "given",
    [{"redis_cluster": "1", "redis_url": "redis://127.0.0.1:7000"}, {"redis_url": "redis+cluster://127.0.0.1:7000/0"}],
)
async def test_either_way_of_saying_cluster_gives_the_cluster_client(given: dict) -> None:
    """(The blocking client for APScheduler connects when made: the cluster runs above use it, for the job store.)"""
    from redis.asyncio.cluster import RedisCluster

    settings = load_settings(StoreSettings, _env_file=None, **given)
    client = client_from_url(str(settings.redis_url))  # no connection yet
    try:
        assert isinstance(client, RedisCluster)
    finally:
        await client.aclose()
