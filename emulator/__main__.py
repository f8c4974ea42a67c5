"""Run the emulator standalone: python -m emulator --port 8081 --token 123456:TEST --user 42:Ann

Point the bot at it with TelegramAPIServer.from_base("http://127.0.0.1:8081") and drive the
simulated users through the JSON control API under /_emu/ (see control.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from .limits import FloodLimits
from .server import BotAPIEmulator
from .stars import DEFAULT_STAR_BALANCE

logger = logging.getLogger(__name__)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description="Telegram Bot API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST")
    parser.add_argument("--username", default="rrbot_test_bot", help="the bot's @username")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="ID[:NAME[:LANG]]",
        help="create a user who has started the bot (repeatable)",
    )
    parser.add_argument("--no-flood-limits", action="store_true", help="disable 429 flood control")
    parser.add_argument(
        "--flood-mode",
        choices=("bucket", "window"),
        default="bucket",
        help="token buckets (lenient) or strict sliding windows with a penalty after a 429",
    )
    parser.add_argument(
        "--paid-per-second",
        type=float,
        default=None,
        help="the cap of sends made with allow_paid_broadcast (default: they share the free cap)",
    )
    parser.add_argument(
        "--star-balance", type=float, default=DEFAULT_STAR_BALANCE, help="the bot's Stars (0.1 per paid send)"
    )
    parser.add_argument(
        "--lenient", action="store_true", help="accept what Telegram accepts (bare & in HTML, several button actions)"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    emulator = BotAPIEmulator(
        token=args.token,
        bot_username=args.username,
        limits=FloodLimits(
            enabled=not args.no_flood_limits, mode=args.flood_mode, paid_per_second=args.paid_per_second
        ),
        strict=not args.lenient,
        star_balance=args.star_balance,
    )
    for spec in args.user:
        user_id, name, language = (spec.split(":") + ["", ""])[:3]
        emulator.add_user(int(user_id), first_name=name or "Ann", language_code=language or "en")
    await emulator.start(args.host, args.port)
    logger.info("bot token %r, control API at %s/_emu/", args.token, emulator.base_url)
    stopped = asyncio.Event()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    try:
        await stopped.wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
