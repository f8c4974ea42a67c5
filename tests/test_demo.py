"""`rrbot demo`, the README's first command: the whole journey offline, in English and Russian."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ["taps [ ✉️ Yurii Ya. Chaika ]", "[document: letter-ua-84-11-chaika-ru.pdf]", "Ю. Я. Чайке",
                "Counted — you are the first to write!", "[ ✅ Yurii Ya. Chaika ]",
                "Counted, thank you for writing to M. A. Peshkov too!", "taps [ ✉️ Ю. Я. Чайка ]"]),
        ("ru", ["taps [ ✉️ Ю. Я. Чайка ]", "Генеральному прокурору Российской Федерации",
                "[document: letter-ua-84-11-chaika-ru.pdf]", "Вы написали 1 адресату из 3. Спасибо!",
                "Учтено, спасибо! Ещё один адресат: М. А. Пешков.", "taps [ ✉️ Yurii Ya. Chaika ]"]),
    ],
)  # fmt: skip
def test_the_demo_walks_the_whole_journey(lang: str, expected: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--language", lang],
        capture_output=True,
        text=True,
        timeout=170,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "REDIS_URL": "", "BOT_TOKEN": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for words in expected:
        assert words in result.stdout, words
    assert "That was the journey" in result.stdout
