"""The image and docker-compose.yml on a real Docker engine: what an operator who runs them would notice.

The image is built once for the module from the working tree. Skipped, with the reason, when no engine answers
(`/work/shared/tools/local-docker up`, or `../shared/tools/local-docker up` beside a CI clone, starts one).
Everything made here (containers, the compose project's network and volume, the image) is removed afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

# Printed at the end of the run (tests/conftest.py): size, build and start-up times, how long a stop takes.
FIGURES: list[str] = []
RUN_ID = uuid.uuid4().hex[:10]
# The emulator service's token and users (docker-compose.yml, .env.emulator).
ANN = 1001
START_ONE = "local-docker up (../shared/tools/local-docker beside a CI clone) installs and starts one"


def docker(*args: str, timeout: float = 120, check: bool = True) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: exit {result.returncode}\n{result.stderr[-3000:]}")
    return result.stdout


def inspect(name: str, template: str) -> str:
    return docker("inspect", "-f", template, name).strip()


def container_logs(name: str) -> str:
    result = subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=30, check=False)
    return result.stdout + result.stderr


def wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    if shutil.which("docker") is None:
        pytest.skip(f"no docker command: {START_ONE}")
    probe = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True, timeout=30
    )
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no answer"])[-1]
        pytest.skip(f"no Docker engine answers ({reason}): {START_ONE}")
    tag = f"rrbot-test-{RUN_ID}"
    began = time.monotonic()
    # RUN steps reach PyPI through the engine's bridge; where they cannot, through the host's network.
    built = subprocess.run(["docker", "build", "-t", tag, "."], capture_output=True, text=True, cwd=ROOT, timeout=900)
    if built.returncode != 0:
        built = subprocess.run(
            ["docker", "build", "--network", "host", "-t", tag, "."],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=900,
        )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    took = time.monotonic() - began
    size = int(inspect(tag, "{{.Size}}"))
    FIGURES.append(f"image {tag}: {size / 1e6:.0f} MB, built in {took:.0f} s (layers cached from earlier builds count)")
    try:
        yield tag
    finally:
        docker("image", "rm", "-f", tag, check=False)


def test_the_image_runs_as_a_non_root_user_under_tini_with_a_healthcheck_and_a_stop_signal(image: str) -> None:
    config = json.loads(inspect(image, "{{json .Config}}"))
    assert config["User"] == "rrbot"
    assert config["Healthcheck"]["Test"][0] in ("CMD", "CMD-SHELL") and "/healthz" in " ".join(
        config["Healthcheck"]["Test"]
    )
    assert config["StopSignal"] == "SIGTERM"
    assert config["Entrypoint"][0].endswith("/tini"), "an init as PID 1 passes docker stop's SIGTERM on"
    assert config["Cmd"] == ["rrbot", "run"]
    uid = docker("run", "--rm", "--network", "none", image, "id", "-u").strip()
    assert uid != "0"
    listing = docker("run", "--rm", "--network", "none", image, "sh", "-c", "ls -d /wheels /src /app/.env 2>&1; true")
    assert listing.count("No such file or directory") == 3, "no wheel layer, no sources, no .env"
    # Every module the bot loads comes with its bytecode: start-up does not compile (nor could it, read-only).
    script = (
        "import os, sys, bot.app.wiring; "
        "print(sorted(m.__name__ for m in list(sys.modules.values()) if getattr(m, '__cached__', None) "
        "and not os.path.exists(m.__cached__)))"
    )
    assert docker("run", "--rm", "--network", "none", image, "python", "-c", script).strip() == "[]"


def test_rrbot_check_and_the_offline_demo_run_inside_the_image(image: str) -> None:
    check = docker("run", "--rm", "--network", "none", image, "rrbot", "check")
    assert check.startswith("OK: "), check
    began = time.monotonic()
    demo = docker("run", "--rm", "--network", "none", image, "rrbot", "demo", timeout=300)
    FIGURES.append(f"rrbot demo in the image, without a network: {time.monotonic() - began:.1f} s")
    assert "taps [ ✉️ Yurii Ya. Chaika ]" in demo
    assert "That was the journey" in demo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stack:
    """`docker compose --profile emulator up` of the repository's docker-compose.yml, as a project of its own."""

    project: str
    env: dict[str, str]
    port: int
    started: float

    def compose(self, *args: str, timeout: float = 180) -> str:
        command = [
            "docker-compose" if shutil.which("docker-compose") else "docker",
            *([] if shutil.which("docker-compose") else ["compose"]),
            "-p",
            self.project,
            "-f",
            "docker-compose.yml",
            "-f",
            str(self.env["RRBOT_TEST_OVERRIDE"]),
            "--profile",
            "emulator",
            *args,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=self.env, cwd=ROOT)
        assert result.returncode == 0, f"{' '.join(command)}: exit {result.returncode}\n{result.stderr[-3000:]}"
        return result.stdout

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).strip()

    def emulator(self, path: str, **form: Any) -> Any:
        url = f"http://127.0.0.1:{self.port}/_emu/{path}"
        data = urllib.parse.urlencode(form).encode() if form else None
        with urllib.request.urlopen(url, data=data, timeout=10) as response:
            body = json.loads(response.read())
        assert body["ok"], body
        return body["result"]


@pytest.fixture(scope="module")
def stack(image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if (
        not shutil.which("docker-compose")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0
    ):
        pytest.skip(f"neither docker-compose nor `docker compose`: {START_ONE}")
    # Health every second here (the image checks every 10 s), so that healthy is seen as soon as it is.
    override = tmp_path_factory.mktemp("compose") / "test-override.yml"
    override.write_text("services:\n  bot:\n    healthcheck:\n      interval: 1s\n")
    port = free_port()
    env = {
        **os.environ,
        "RRBOT_IMAGE": image,
        "RRBOT_ENV_FILE": ".env.emulator",
        "RRBOT_EMULATOR_PORT": str(port),
        "RRBOT_TEST_OVERRIDE": str(override),
    }
    stack = Stack(f"rrbottest{RUN_ID}", env, port, time.time())
    try:
        stack.compose("up", "-d", "--no-build")
        yield stack
    finally:
        stack.compose("down", "-v", "--remove-orphans", "-t", "30")


def test_compose_brings_the_bot_and_redis_up_healthy_against_the_emulator(stack: Stack) -> None:
    bot, redis = stack.container("bot"), stack.container("redis")

    def healthy() -> bool:
        return all(inspect(c, "{{.State.Health.Status}}") == "healthy" for c in (bot, redis))

    wait(healthy, 120, "bot and redis healthy")
    FIGURES.append(f"compose up to bot and redis healthy: {time.time() - stack.started:.1f} s")
    # A person writes to the bot: the answer comes through the emulator, the bot works end to end.
    stack.emulator("send", user_id=ANN, text="/start")
    replies = wait(lambda: stack.emulator(f"outbox?chat_id={ANN}"), 30, "the bot answers /start")
    assert replies[0]["method"] == "sendMessage"
    # A long poll is recorded when it ends: the /start ended the first one.
    polls = stack.emulator("calls?method=getUpdates")
    since_start = polls[0]["at"] - docker_time(inspect(bot, "{{.State.StartedAt}}"))
    FIGURES.append(f"bot container start to its first getUpdates: {since_start:.1f} s")


def docker_time(stamp: str) -> float:
    """Docker's RFC 3339 time with nanoseconds as a Unix time."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{whole}+00:00").timestamp() + float(f"0.{fraction or 0}")


def test_the_serving_bot_stops_cleanly_on_docker_stop(stack: Stack) -> None:
    """Before the next test: its bots poll the same emulator, and Telegram lets one poll at a time."""
    bot = stack.container("bot")
    wait(lambda: inspect(bot, "{{.State.Health.Status}}") == "healthy", 120, "bot healthy")
    began = time.monotonic()
    stack.compose("stop", "bot", timeout=60)
    took = time.monotonic() - began
    FIGURES.append(f"docker compose stop bot while serving: {took:.2f} s")
    assert int(inspect(bot, "{{.State.ExitCode}}")) == 0
    logs = container_logs(bot)
    assert "Stopped cleanly" in logs, logs[-2000:]
    assert took < 10


@pytest.mark.parametrize("after", [0.0, 1.0, 3.0])
def test_docker_stop_right_after_start_ends_the_bot_with_exit_0_at_once(stack: Stack, after: float) -> None:
    """Whatever start-up is doing (loading modules, reading settings, asking Telegram who it is, already serving),
    SIGTERM ends it with 0, within seconds, and not at the engine's kill after the grace period (137)."""
    bot = stack.container("bot")
    network = inspect(bot, "{{range $name, $net := .NetworkSettings.Networks}}{{$name}}{{end}}")
    name = f"{stack.project}-stop-{int(after * 10)}"
    docker(
        "run",
        "-d",
        "--name",
        name,
        "--network",
        network,
        "--env-file",
        ".env.emulator",
        "-e",
        "REDIS_URL=redis://redis:6379/1",  # not the stack bot's database: a process of its own
        stack.env["RRBOT_IMAGE"],
    )
    try:
        time.sleep(after)
        began = time.monotonic()
        docker("stop", "-t", "20", name, timeout=60)
        took = time.monotonic() - began
        code = int(inspect(name, "{{.State.ExitCode}}"))
        logs = container_logs(name)
    finally:
        docker("rm", "-f", name, check=False)
    FIGURES.append(f"docker stop {after:.0f} s after docker run: {took:.2f} s, exit {code}")
    assert code == 0, logs[-2000:]
    assert took < 5, f"stopped in {took:.1f} s: the grace period was waited out"
    assert "Traceback" not in logs and "Unclosed" not in logs, logs[-2000:]
