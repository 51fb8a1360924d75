"""Admin commands: /reload the corpus without a restart, and /stats.

Admins are numeric user ids from the configuration. Only fresh messages
count: an edited or forwarded command never runs an admin action.
"""

from __future__ import annotations

import gc
import logging
import time

from telegram import Update
from telegram.constants import MessageLimit
from telegram.ext import ContextTypes

from index import CorpusError

from ._compose import escape
from ._runtime import interface_strings, runtime
from ._send import reply_html

log = logging.getLogger(__name__)


async def _refuse_unless_admin(update: Update, context: ContextTypes.DEFAULT_TYPE, command: str) -> bool:
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
    if await _refuse_unless_admin(update, context, "/reload") or update.effective_message is None:
        return
    rt = runtime(context)
    s = interface_strings(update, context)
    try:
        report = await rt.off_loop(rt.service.reload)
    except CorpusError as exc:
        root = rt.service.corpus_dir
        lines = [escape(str(p).replace(f"{root}/", "")) for p in exc.problems]
        listing = ""
        for line in lines:  # as many problems as fit in one message
            if len(listing) + len(line) + 400 > MessageLimit.MAX_TEXT_LENGTH:
                listing += "\n…"
                break
            listing += f"\n• {line}"
        log.warning("reload refused: %d corpus problem(s)", len(exc.problems))
        await reply_html(update.effective_message, s("reload_failed", problems=listing.strip()))
        return
    except OSError as exc:
        log.warning("reload failed: %s", exc)
        await reply_html(update.effective_message, s("reload_failed", problems=escape(str(exc))))
        return
    rt.save_stats()
    gc.freeze()  # the new index is long-lived too (see post_init)
    none = s("nothing")
    log.info("corpus reloaded: %d articles, %d passages in %.2f s", report.articles, report.passages, report.seconds)
    await reply_html(
        update.effective_message,
        s(
            "reload_done",
            seconds=f"{report.seconds:.2f}",
            articles=report.articles,
            passages=report.passages,
            added=escape(", ".join(report.added) or none),
            removed=escape(", ".join(report.removed) or none),
            changed=escape(", ".join(report.changed) or none),
        ),
    )


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Uptime, questions answered, answer latency, corpus size and last reload."""
    if await _refuse_unless_admin(update, context, "/stats") or update.effective_message is None:
        return
    rt = runtime(context)
    s = interface_strings(update, context)
    stats = rt.service.stats
    engine = rt.service.engine
    uptime = int(time.time() - rt.started)
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
            last_reload=escape(stats.last_reload or s("never")),
        ),
    )
