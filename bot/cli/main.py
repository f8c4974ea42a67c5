"""The `rrbot` command: run, demo, check, stats, broadcast, publish, update, reload, schedule, audit, import."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
from pathlib import Path

from bot.ground.settings import Settings, SettingsError, StoreSettings, load_settings
from bot.importer.source import MAX_BYTES, MAX_PAGES


def _run(args: argparse.Namespace) -> int:
    # Start-up makes about a million objects that all live on (aiogram's and pydantic's models, the
    # routers): collecting while they were made took a sixth of it, for nothing. build_app freezes them
    # and collects again from there.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _start()
    finally:
        if collecting:
            gc.enable()


def _start() -> int:
    """Everything that can be checked offline first, then aiogram and the network (Redis, Telegram)."""
    from bot.content.check import format_report, load_checked
    from bot.ground.logs import setup_logging
    from bot.ground.privacy import Pseudonymizer, privacy_key

    settings = load_settings(Settings)
    secrets = [settings.bot_token.get_secret_value()]
    if settings.webhook_secret is not None:
        secrets.append(settings.webhook_secret.get_secret_value())
    setup_logging(settings.log_level, secrets)
    try:
        pseudonyms = Pseudonymizer(privacy_key(settings))
    except (OSError, ValueError) as exc:  # the key file in DATA_DIR cannot be written, or is not a key
        print(f"rrbot: cannot use the privacy key in DATA_DIR={settings.data_dir}: {exc}", file=sys.stderr)
        return 2
    problems, library = load_checked(settings.content_dir)
    if library is None:
        print(format_report(problems), file=sys.stderr)
        print(f"rrbot: refusing to start: {len(problems)} problem(s) in {settings.content_dir}", file=sys.stderr)
        return 1

    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
    from redis.exceptions import ConnectionError as RedisConnectionError

    from bot.app.wiring import run

    try:
        asyncio.run(run(settings, library, pseudonyms))
    except KeyboardInterrupt:
        pass
    except TelegramUnauthorizedError:
        print("rrbot: BOT_TOKEN was refused by Telegram (401 Unauthorized): check it with @BotFather", file=sys.stderr)
        return 2
    except TelegramNetworkError as exc:
        print(f"rrbot: cannot reach the Bot API at {settings.telegram_api_url}: {exc.message}", file=sys.stderr)
        return 2
    except RedisConnectionError as exc:
        # Host and port only: the URL may carry a password.
        url, sentinel = settings.redis_url, settings.redis_sentinel
        if sentinel is not None:
            where, which = str(sentinel), "REDIS_SENTINELS"
        else:
            where = f"{url.host}:{url.port or 6379}" if url is not None and url.host else "the embedded Redis"
            which = "REDIS_URL"
        print(f"rrbot: cannot reach Redis at {where} ({which}): {exc}", file=sys.stderr)
        return 2
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.cli.demo import main as demo

    return asyncio.run(demo(language=args.language))


def _check(args: argparse.Namespace) -> int:
    from bot.content.check import run_check

    directory = Path(args.dir) if args.dir else load_settings(StoreSettings).content_dir
    return run_check(directory)


def _stats(args: argparse.Namespace) -> int:
    from bot.cli.stats import collect, format_table, write_csv
    from bot.ground.redis_client import EMBEDDED_DB

    settings = load_settings(StoreSettings)
    if not settings.shared_redis and not (settings.data_dir / EMBEDDED_DB).exists():
        print(f"rrbot: no bot data in DATA_DIR={settings.data_dir} yet: every figure is zero", file=sys.stderr)
    if args.csv:
        delimiter = ";" if args.excel_locale else args.delimiter
        for path in asyncio.run(write_csv(settings, Path(args.csv), delimiter)):
            print(path)
        return 0
    data = asyncio.run(collect(settings))
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else format_table(data))
    return 0


def _broadcast(args: argparse.Namespace) -> int:
    from bot.cli.broadcast import cancel, queue, status

    settings = load_settings(StoreSettings)
    if args.action == "status":
        return asyncio.run(status(settings, args.id, as_json=args.json))
    if args.action == "cancel":
        return asyncio.run(cancel(settings, args.id))
    if not args.text_file:
        print("rrbot: broadcast needs --text-file F (or: broadcast status ID, broadcast cancel ID)", file=sys.stderr)
        return 2
    return asyncio.run(
        queue(
            settings,
            Path(args.text_file),
            audience=args.audience,
            case_id=args.case,
            language=args.language,
            at=args.at,
            urgent=args.urgent,
            yes=args.yes,
            dry_run=args.dry_run,
        )
    )


def _publish(args: argparse.Namespace) -> int:
    from bot.cli.cases import publish

    return asyncio.run(publish(load_settings(StoreSettings), args.case))


def _update(args: argparse.Namespace) -> int:
    from bot.cli.cases import update

    return asyncio.run(
        update(
            load_settings(StoreSettings),
            args.case,
            Path(args.text_file),
            close=args.close,
            deadline=args.deadline,
            reopen=args.reopen,
        )
    )


def _reload(args: argparse.Namespace) -> int:
    from bot.cli.cases import reload

    return asyncio.run(reload(load_settings(StoreSettings)))


def _schedule(args: argparse.Namespace) -> int:
    from bot.cli.schedule import cancel_job, list_jobs

    settings = load_settings(StoreSettings)
    if args.action == "cancel":
        return asyncio.run(cancel_job(settings, args.arg))
    return asyncio.run(list_jobs(settings, args.arg, as_json=args.json))


def _audit(args: argparse.Namespace) -> int:
    from bot.cli.audit import show

    return asyncio.run(show(load_settings(StoreSettings), limit=args.limit, as_json=args.json))


def _import(args: argparse.Namespace) -> int:
    from bot.cli.imports import main_import

    return main_import(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rrbot", description="Rapid-response bot for Urgent Actions.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the bot (long polling); needs BOT_TOKEN").set_defaults(func=_run)
    demo = sub.add_parser("demo", help="an offline tour: the bot against a local Telegram emulator")
    demo.add_argument("--language", default="en", choices=["en", "ru"])
    demo.set_defaults(func=_demo)
    check = sub.add_parser("check", help="validate case files and templates")
    check.add_argument("dir", nargs="?", help="content directory (default: CONTENT_DIR)")
    check.set_defaults(func=_check)
    stats = sub.add_parser("stats", help="subscribers and pledges per case")
    stats.add_argument("--json", action="store_true")
    stats.add_argument("--csv", metavar="DIR", help="write one CSV file per table into DIR (UTF-8 with a BOM)")
    stats.add_argument("--delimiter", choices=[",", ";"], default=",", help="between the CSV's fields (default ',')")
    stats.add_argument(
        "--excel-locale",
        action="store_true",
        help="the same as --delimiter ';': Excel where a comma is the decimal sign (German, French, Russian, ...)",
    )
    stats.set_defaults(func=_stats)
    bc = sub.add_parser(
        "broadcast",
        help="show a broadcast, confirm and queue it for the running bots; or see/cancel one",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=BROADCAST_HELP,
    )
    bc.add_argument("action", nargs="?", choices=["status", "cancel"], help="without it: a new broadcast")
    bc.add_argument("id", nargs="?", help="broadcast id (status, cancel)")
    bc.add_argument("--text-file", help="the message, Telegram HTML, UTF-8")
    who = bc.add_mutually_exclusive_group()
    who.add_argument("--everyone", dest="audience", action="store_const", const="all", help="everyone who gets alerts")
    who.add_argument(
        "--audience",
        choices=["all", "case", "not-acted"],
        default=None,
        help="case (the default with --case): its followers; not-acted: those of them who marked nothing as done; "
        "all: the same as --everyone",
    )
    bc.add_argument("--case", help="case id: send to its followers")
    bc.add_argument("--language", help="only people whose bot language is this one (a code, like ru)")
    bc.add_argument(
        "--at",
        help="send later: 'tomorrow 18:00', 'in 2 hours', '15.12.2026 10:00', 'Dec 15 10:00' or '2026-12-31 18:00', "
        "in DEFAULT_TIMEZONE (or with an offset), within the coming year",
    )
    bc.add_argument(
        "--urgent",
        action="store_true",
        help="reach people in their night at once, without a sound (otherwise it waits for their 08:00)",
    )
    bc.add_argument("-y", "--yes", action="store_true", help="queue without asking (scripts); the preview is shown")
    bc.add_argument("--dry-run", action="store_true", help="only show the audience and the message; queue nothing")
    bc.add_argument("--json", action="store_true", help="status: as JSON")
    bc.set_defaults(func=_broadcast)
    pub = sub.add_parser("publish", help="send the alert of a case in CONTENT_DIR to everyone, once")
    pub.add_argument("case", help="case id, as in its file")
    pub.set_defaults(func=_publish)
    up = sub.add_parser("update", help="post an update of a case to its followers")
    up.add_argument("case", help="case id")
    up.add_argument("--text-file", required=True, help="the update, Telegram HTML, UTF-8")
    change = up.add_mutually_exclusive_group()
    change.add_argument("--close", action="store_true", help="the case is closed: reminders stop")
    change.add_argument("--deadline", help="the deadline is extended to this date (YYYY-MM-DD)")
    up.add_argument(
        "--reopen", action="store_true", help="a closed case takes news or a new deadline only when reopened"
    )
    up.set_defaults(func=_update)
    sub.add_parser("reload", help="check the case files, then have the running bots read them again").set_defaults(
        func=_reload
    )
    sch = sub.add_parser("schedule", help="what is scheduled (reminders, broadcasts), or cancel one")
    sch.add_argument("action", choices=["list", "cancel"])
    sch.add_argument("arg", nargs="?", help="list: a case id (optional); cancel: the job id")
    sch.add_argument("--json", action="store_true")
    sch.set_defaults(func=_schedule)
    aud = sub.add_parser("audit", help="who did what and when: sends, schedules, cases, roles (newest first)")
    aud.add_argument("--limit", type=int, default=50, help="how many entries (default: 50)")
    aud.add_argument("--json", action="store_true")
    aud.set_defaults(func=_audit)
    imp = sub.add_parser(
        "import",
        help="turn an Urgent Action (PDF or text) into a case-file draft DIR/<id>.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=IMPORT_INPUTS,
    )
    imp.add_argument("file", help="the Urgent Action: a PDF with text in it, or a text file")
    imp.add_argument("-o", "--output-dir", default=".", help="where to write the draft (default: .)")
    imp.add_argument("--force", action="store_true", help="overwrite an existing draft")
    imp.set_defaults(func=_import)
    return p


BROADCAST_HELP = """Shows who receives the message (and how many), and the message as Telegram will show it,
then asks "Send to N recipients? [y/N]". Nothing is queued before a yes.

who receives it: there is no default. Say it: --case ID (the case's followers), --case ID
  --audience not-acted (those of them who marked nothing as done), or --everyone (everyone who gets
  alerts). --language xx narrows any of them to one bot language.

the message: Telegram HTML, checked by Telegram's own rules (what Telegram accepts is accepted: a
  bare "&" as in "Q&A" is text); at most one message long.

The preview and the question go to stderr; stdout carries only the id of what was queued.

exit status: 0 queued (with --dry-run: shown, and it would be queued); 1 nothing queued, nothing
  wrong: nobody is in the audience (a send --at a time is counted again then, so it is scheduled
  all the same), or the answer was not yes; 2 refused: an unknown case or
  language, no audience given, a message Telegram would refuse, a time that is not right, a Star
  balance too short, or no terminal to ask on (run it in one, or add --yes)
"""


IMPORT_INPUTS = f"""accepted:
  a PDF with a text layer (at most {MAX_PAGES} pages), as Amnesty sections publish UAs
  a text file: UTF-8 (with or without a byte order mark), or UTF-16/UTF-32 with one
  at most {MAX_BYTES // 2**20} MB; English, Spanish and French UAs; updates, further information, EXTRA UAs
  and final notices ("no further action is requested": exit 0, it proposes `rrbot update <id> --close`)

refused, with the reason (exit 2): an empty file, a binary file that is not a PDF (image, Word, archive),
  text in another encoding, a scanned PDF (no text: run text recognition first), a password-protected or
  damaged PDF, a file too big or with too many pages, a text that is not an Urgent Action, a page holding
  several UAs (import them one at a time)

exit 1: the draft was written but lacks required fields (listed); in chat the bot asks for them instead
"""


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"rrbot: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
