"""Admin commands: /reload the corpus without a restart, and /stats; reports shared with uploads.

Admins are numeric user ids from the configuration. Only fresh messages
count: an edited or forwarded command never runs an admin action.
"""

from __future__ import annotations

import gc
import logging
import time
from pathlib import Path

from telegram import Update
from telegram.constants import MessageLimit
from telegram.ext import ContextTypes

from index import CorpusError
from index.follow import DatabaseError
from index.search.backend import BackendUnavailable

from ._compose import escape, shorten
from ._i18n import Strings
from ._runtime import Runtime, interface_strings, runtime
from ._send import reply_html
from ._service import ReloadReport
from ._translate import account_line, usage_line

log = logging.getLogger(__name__)


async def refuse_unless_admin(update: Update, context: ContextTypes.DEFAULT_TYPE, command: str) -> bool:
    """Tell anyone but an admin (in a fresh, unforwarded message) no, and return True for them."""
    rt = runtime(context)
    user = update.effective_user
    message = update.effective_message
    if rt.is_admin(user) and message is not None and message.forward_origin is None and update.edited_message is None:
        return False
    log.warning("refused %s from user id %s", command, user.id if user else "unknown")
    if message is not None:
        await reply_html(message, escape(interface_strings(update, context)("not_admin")))
    return True


async def reload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Re-read the corpus off the event loop and swap the index in; keep the old one on problems."""
    if await refuse_unless_admin(update, context, "/reload") or update.effective_message is None:
        return
    rt = runtime(context)
    s = interface_strings(update, context)
    await reply_html(update.effective_message, escape(s("reload_started")))  # a reload can take minutes
    try:
        report = await rt.off_loop(rt.service.reload)
    except CorpusError as exc:
        log.warning("reload refused: %d corpus problem(s)", len(exc.problems))
        problems = problem_list(exc, rt.service.corpus_dir)
        await reply_html(update.effective_message, s("reload_failed", problems=problems))
        return
    except OSError as exc:
        log.warning("reload failed: %s", exc)
        await reply_html(update.effective_message, s("reload_failed", problems=escape(str(exc))))
        return
    except BackendUnavailable as exc:  # its message names the setting to check, never a secret
        log.warning("reload failed: %s", exc)
        await reply_html(update.effective_message, s("reload_unavailable", problem=escape(str(exc))))
        return
    rt.save_stats()
    gc.freeze()  # the new index is long-lived too (see post_init)
    none = s("nothing")
    log.info("corpus reloaded: %d articles, %d passages in %.2f s", report.articles, report.passages, report.seconds)
    text = s(
        "reload_done",
        seconds=f"{report.seconds:.2f}",
        articles=report.articles,
        passages=report.passages,
        added=escape(", ".join(report.added) or none),
        removed=escape(", ".join(report.removed) or none),
        changed=escape(", ".join(report.changed) or none),
    )
    await reply_html(
        update.effective_message,
        "\n".join([text, *translation_lines(report, s, usage_line(rt, s.language)), *alert_lines(report, s)]),
    )


def problem_list(error: CorpusError, root: Path, room: int = MessageLimit.MAX_TEXT_LENGTH - 600) -> str:
    """The problems as HTML bullet lines, paths relative to the corpus, as many as fit in ``room``."""
    listing: list[str] = []
    used = 0
    for problem in error.problems:
        line = "• " + escape(str(problem).replace(f"{root}/", ""))
        if used + len(line) + 1 > room:
            listing.append("…")
            break
        listing.append(line)
        used += len(line) + 1
    return "\n".join(listing)


def translation_lines(report: ReloadReport, s: Strings, usage: str | None = None) -> list[str]:
    """What machine translation did, and what is still untranslated, for the admin; ``usage``: this month's
    machine translation against its budget (:func:`bot._translate.usage_line`)."""
    lines = [s("translation_stale", count=report.stale)] if report.stale else []
    done = report.translation
    if done is not None and done.passages_translated:
        lines.append(s("translation_done", passages=done.passages_translated, files=len(done.written)))
    if done is not None and done.errors:
        lines.append(s("translation_retry", error=escape(shorten(done.errors[0], 300))))
    if report.untranslated:
        lines.append(s("translation_missing", count=report.untranslated))
    if usage:
        lines.append(usage)
    return lines


def alert_lines(report: ReloadReport | None, s: Strings) -> list[str]:
    """How many followers the change alerted, for the admin (nothing when nobody follows anything)."""
    return [s("alerts_line", count=report.alerted)] if report is not None and report.alerted is not None else []


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Uptime, questions answered, answer latency, corpus size and last reload."""
    if await refuse_unless_admin(update, context, "/stats") or update.effective_message is None:
        return
    rt = runtime(context)
    s = interface_strings(update, context)
    stats = rt.service.stats
    engine = rt.service.engine
    uptime = int(time.time() - rt.started)
    follows = ""
    if rt.following is not None:
        try:
            counts = await rt.off_loop(rt.following.store.counts)
            follows = "\n" + s("stats_follows", follows=counts.follows, followers=counts.followers, alerts=counts.sent)
        except DatabaseError as exc:
            log.error("could not count follows: %s", exc)
    account = await rt.off_loop(account_line, rt, s.language)  # the translation service's own count, if it has one
    await reply_html(
        update.effective_message,
        s(
            "stats",
            uptime=f"{uptime // 3600} h {uptime % 3600 // 60:02d} min",
            questions=stats.questions,
            p50=f"{stats.percentile(50):.1f}",
            p95=f"{stats.percentile(95):.1f}",
            lag=f"{stats.loop_lag_max_ms:.0f}",
            articles=len(engine.corpus.articles),
            passages=len(engine.corpus.passages),
            index_seconds=f"{engine.stats.seconds:.2f}",
            untranslated=rt.service.untranslated(),
            last_reload=escape(stats.last_reload or s("never")),
        )
        + follows
        + _usage(rt, s)
        + (f"\n{account}" if account else ""),
    )


def _usage(rt: Runtime, s: Strings) -> str:
    """This month's machine translation against its budget, on a line of its own ("" when translation is off)."""
    line = usage_line(rt, s.language)
    return "\n" + line if line else ""
