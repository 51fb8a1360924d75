#!/usr/bin/env python3
"""Load benchmark: a burst of updates through the real bot, against the fake Bot API over HTTP.

Usage (from the project root, after `pip install -e '.[test]'`)::

    python bench/load.py [--updates 10000] [--users 2000] [--reloads 20] [--telegram-limits]

It starts `python bot.py` as it ships, configured to talk to the strict fake
Bot API (tests/fakebot.py) served on 127.0.0.1, queues the whole burst at once
(private questions, group mentions and inline queries from distinct users,
mixed, plus admin /reloads spread through it) and reports:

* updates handled per second, and answer latency p50/p95/p99, from the moment the burst
  was queued (what its senders wait) and from the moment getUpdates hands an update to
  the bot (the bot fetches only as many as it has room for; the rest wait at Telegram);
* peak RSS growth of the bot process;
* how many updates were answered, rate-limited (one notice) or dropped (silent,
  after the notice), and whether the rate limiter kept its promises;
* answers that differ from the engine's answer to the same question (there must be none,
  /reloads included), and calls the fake refused;
* the worst event-loop delay, as the bot's own /stats measures it, and the stalls over
  100 ms the bot logged, with where the loop thread's time went (running callbacks,
  waiting for a CPU, or for the GIL);
* how long the bot took to exit after SIGINT (it is killed after 60 s).

The burst counts as handled once an admin command queued after it has been answered
(so the bot has taken up every update before it) and no answer has been sent for 5 s.

By default Telegram's flood limits (30 messages/s, 20 per minute per group) are
raised so the bot's own capacity is measured; --telegram-limits keeps them, and
then sending, not the bot, sets the pace.

--busy N keeps N other processes spinning on the CPU during the burst: the bot on a
busy machine. Its defences there include running the encoder's OpenMP on one passive
thread (bot/_app.py); to see the loop without them, pass OpenMP's defaults through the
environment, e.g. ``OMP_THREAD_LIMIT=64 OMP_WAIT_POLICY=ACTIVE python bench/load.py --busy 2``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot._compose import answer_html  # noqa: E402
from bot._i18n import strings  # noqa: E402
from corpus import BUNDLED  # noqa: E402
from index import Engine, load_corpus  # noqa: E402
from tests.fakebot import FakeBotAPI  # noqa: E402

TOKEN = "424242:LOAD-test-token-not-secret"
ADMIN = 1
BEHIND_BURST = 2
"""Message id of the admin /stats queued behind the burst: its answer means the bot reached the end."""
QUIET_SECONDS = 5.0
STOP_TIMEOUT = 60.0
STALL = re.compile(
    r"blocked for (\d+) ms(?: \(running (\d+) ms, waiting for a CPU (\d+) ms, for the GIL or I/O (\d+) ms\))?"
)
QUESTIONS = [
    ("en", "Why was the Space delayed?"),
    ("en", "How many followers does Elon Musk have?"),
    ("en", "What did Trump say about an Iron Dome missile shield?"),
    ("en", "Who won the 2022 FIFA World Cup final?"),
    ("fr", "Pourquoi la conversation a-t-elle été retardée ?"),
    ("fr", "Qu'a dit Trump au sujet de l'Union européenne ?"),
    ("id", "Mengapa wawancara Musk dan Trump terlambat?"),
    ("id", "Apa pendapat Trump tentang mobil listrik dan Tesla?"),
    ("nl", "Hoe lang duurde de uitzending?"),
    ("nl", "Wat is de hoofdstad van Australië?"),
    ("de", "Warum begann das Gespräch zwischen Musk und Trump so spät?"),
    ("de", "Was hat Trump über Kamala Harris gesagt?"),
    ("es", "¿Por qué se retrasó la conversación en X?"),
    ("es", "¿Cuándo cambió Twitter su nombre a X?"),
]


def scheduler_seconds(pid: int) -> tuple[float, float, float]:
    """The bot's CPU time, and its event-loop (main) thread's time on a CPU and waiting for one, in seconds."""
    total = 0.0
    loop = (0.0, 0.0)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            running, waiting, _ = (task / "schedstat").read_text().split()
        except (OSError, ValueError):
            continue
        total += int(running) / 1e9
        if task.name == str(pid):
            loop = (int(running) / 1e9, int(waiting) / 1e9)
    return total, *loop


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def build_burst(
    n: int, users: int, reloads: int, groups: int, flooders: int, flood: int, rng: random.Random
) -> list[dict[str, Any]]:
    langs = ["en", "fr", "id", "nl", "de", "es"]
    burst: list[dict[str, Any]] = []
    message_id = 1000
    for i in range(n):
        user_id = 10_000 + rng.randrange(users)
        _, question = rng.choice(QUESTIONS)
        sender = {"id": user_id, "is_bot": False, "first_name": f"U{user_id}", "language_code": rng.choice(langs)}
        kind = rng.choices(["private", "group", "inline"], weights=[2, 1, 1])[0]
        message_id += 1
        if kind == "inline":
            burst.append({"inline_query": {"id": f"iq{i}", "from": sender, "query": question, "offset": ""}})
            continue
        if kind == "private":
            chat = {"id": user_id, "type": "private", "first_name": sender["first_name"]}
            text, entities = question, None
        else:
            chat = {"id": -100_000 - rng.randrange(groups), "type": "supergroup", "title": "Readers"}
            text = f"@loadbot {question}"
            entities = [{"type": "mention", "offset": 0, "length": len("@loadbot")}]
        msg = {"message_id": message_id, "date": int(time.time()), "chat": chat, "from": sender, "text": text}
        if entities:
            msg["entities"] = entities
        burst.append({"message": msg})
    for f in range(flooders):  # users who send `flood` questions in a row, far over their limit
        user_id = 50_000 + f
        sender = {"id": user_id, "is_bot": False, "first_name": f"F{user_id}", "language_code": "en"}
        chat = {"id": user_id, "type": "private", "first_name": sender["first_name"]}
        at = rng.randrange(len(burst))
        for j in range(flood):
            msg = {"message_id": 500_000 + f * flood + j, "date": int(time.time()), "chat": chat, "from": sender,
                   "text": rng.choice(QUESTIONS)[1]}  # fmt: skip
            burst.insert(at + j, {"message": msg})
    step = max(1, n // (reloads + 1))
    for k in range(reloads):
        burst.insert((k + 1) * step + k, {"message": admin_command("/reload", 900 + k)})
    for update_id, update in enumerate(burst, start=1):
        update["update_id"] = update_id
    return burst


def admin_command(command: str, message_id: int) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": ADMIN, "type": "private"},
        "from": {"id": ADMIN, "is_bot": False, "first_name": "Admin", "language_code": "en"},
        "text": command,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--reloads", type=int, default=20)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--flooders", type=int, default=50, help="users who send --flood questions in a row")
    parser.add_argument("--flood", type=int, default=12)
    parser.add_argument("--telegram-limits", action="store_true", help="keep Telegram's 30 messages/s flood limits")
    parser.add_argument("--timeout", type=float, default=900, help="give up after this many seconds")
    parser.add_argument("--busy", type=int, default=0, help="other processes spinning on the CPU during the burst")
    parser.add_argument("--backend", choices=("embedded", "milvus"), default="embedded", help="search backend")
    parser.add_argument("--milvus-uri", default="", help="a Milvus server; without it, Milvus Lite in the cache")
    args = parser.parse_args()
    rng = random.Random(7)
    burst = build_burst(args.updates, args.users, args.reloads, args.groups, args.flooders, args.flood, rng)

    work = Path(tempfile.mkdtemp(prefix="newsbot-load-"))
    cache = ROOT / ".cache" / "load"
    engine = Engine.build(load_corpus(BUNDLED), cache_dir=cache)  # the reference answers, and a warm cache
    fake = FakeBotAPI(TOKEN, username="loadbot")
    burst_limit, window = 5, 30.0
    with fake.serve() as base_url:
        telegram: dict[str, Any] = {"base_url": base_url}
        if not args.telegram_limits:
            telegram["flood_limits"] = {"messages_per_second": 100_000, "group_messages_per_minute": 100_000}
        config = {
            "telegram": telegram,
            "admins": [ADMIN],
            "cache_dir": str(cache),
            "persistence": str(work / "state" / "bot.pickle"),
            "rate_limit": {"burst": burst_limit, "per_seconds": window},
            "log_level": "INFO",
            "search": {"backend": args.backend, "milvus": {"uri": args.milvus_uri, "collection": "newsbot_load"}},
        }
        (work / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        log = (work / "bot.log").open("w")
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN}
        env.pop("BOT_CONFIG", None)
        bot = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), "--config", str(work / "config.yaml")],
            cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, text=True,
        )  # fmt: skip
        stop_seconds: float | None = None
        hogs: list[subprocess.Popen[bytes]] = []
        try:
            fake.wait_for_sync("getUpdates", timeout=180)
            rss_before = rss_kb(bot.pid, "VmRSS")
            cpu_before = scheduler_seconds(bot.pid)
            hogs += [
                subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
                for _ in range(args.busy)
            ]
            started = time.monotonic()
            for update in burst:
                fake.queue_update(update)
            # Delivered is not handled: the bot fetches far ahead of what it has answered. An admin
            # command behind the burst is taken up only once everything before it has been.
            fake.queue_update({"message": admin_command("/stats", BEHIND_BURST)})
            last, last_count = time.monotonic(), -1
            while time.monotonic() - started < args.timeout:
                count = len(fake.sent("sendMessage")) + len(fake.sent("answerInlineQuery"))
                if count != last_count:
                    last, last_count = time.monotonic(), count
                if reached_the_end(fake) and time.monotonic() - last > QUIET_SECONDS:
                    break
                time.sleep(0.5)
            else:
                print(f"gave up after {args.timeout:.0f} s with the burst still being handled", file=sys.stderr)
            elapsed = max(c.at for c in fake.calls) - started
            rss_peak = rss_kb(bot.pid, "VmHWM")
            cpu = [after - before for after, before in zip(scheduler_seconds(bot.pid), cpu_before, strict=True)]
            fake.queue_update({"message": admin_command("/stats", 1)})
            stats_text = admin_reply(fake, 1, timeout=60)
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
            stopping = time.monotonic()
            bot.send_signal(signal.SIGINT)
            try:
                bot.wait(timeout=STOP_TIMEOUT)
                stop_seconds = time.monotonic() - stopping
            except subprocess.TimeoutExpired:
                bot.kill()  # never leave it running behind us
                bot.wait()
            log.close()
            err = (work / "bot.log").read_text()
            print(f"bot log: {work / 'bot.log'}")

    report(burst, fake, engine, started, elapsed, rss_before, rss_peak, stats_text, burst_limit, window, err, args)
    if cpu[0]:
        print(
            f"bot CPU during the burst: {cpu[0]:.1f} s ({cpu[0] / elapsed:.2f} cores); event-loop thread on a CPU "
            f"{cpu[1]:.1f} s, runnable but waiting for one {cpu[2]:.1f} s"
        )
    print(
        f"stopped {stop_seconds:.1f} s after SIGINT"
        if stop_seconds is not None
        else f"did not stop within {STOP_TIMEOUT:.0f} s of SIGINT (killed)"
    )
    return 0


def admin_replies(fake: FakeBotAPI, message_id: int) -> list[str]:
    """The texts the bot sent in reply to the admin's message ``message_id``."""
    return [
        params["text"]
        for params in fake.sent("sendMessage")
        if params.get("chat_id") == ADMIN and params.get("reply_parameters", {}).get("message_id") == message_id
    ]


def admin_reply(fake: FakeBotAPI, message_id: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while not (found := admin_replies(fake, message_id)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no reply to the admin's message {message_id} within {timeout:.0f} s")
        time.sleep(0.05)
    return found[0]


RELOAD_DONE = strings("en").raw("reload_done").split("{", 1)[0]
"""How the admin's (English) closing reply to /reload begins when the reload succeeded."""


def reload_succeeded(replies: Sequence[str]) -> bool:
    """Whether a /reload succeeded, from the bot's replies to it in the order sent.

    /reload answers twice: "Reloading the corpus…" at once (a reload can take minutes), then the
    closing reply, which says how it went. Only the closing reply counts; reading the first one
    counted every reload as failed.
    """
    return bool(replies) and replies[-1].startswith(RELOAD_DONE)


def reached_the_end(fake: FakeBotAPI) -> bool:
    """Whether the admin command queued behind the burst has been answered."""
    return bool(admin_replies(fake, BEHIND_BURST))


def report(
    burst: list[dict[str, Any]], fake: FakeBotAPI, engine: Engine, started: float, elapsed: float,
    rss_before: int, rss_peak: int, stats_text: str, burst_limit: int, window: float, err: str,
    args: argparse.Namespace,
) -> None:  # fmt: skip
    calls = [c for c in fake.calls if c.at >= started]
    replies: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for c in calls:
        if c.method == "sendMessage" and "reply_parameters" in c.params:
            replies[(int(c.params["chat_id"]), c.params["reply_parameters"]["message_id"])].append(c)
    inline_answers = {c.params["inline_query_id"]: c for c in calls if c.method == "answerInlineQuery"}
    typing = {int(c.params["chat_id"]): c.at for c in calls if c.method == "sendChatAction"}  # last per chat
    notice_prefix = {
        lang: strings(lang)("rate_limited", seconds=0).split("0")[0] for lang in strings("en").raw("language_names")
    }

    latencies: list[float] = []
    waits: list[float] = []  # from the moment the whole burst was queued: what its senders waited
    handling: list[float] = []  # from "typing…" (the bot starts on it) to the answer, private chats
    answered = limited = dropped = wrong = reloads_ok = 0
    per_user: dict[int, Counter[str]] = defaultdict(Counter)
    reference: dict[tuple[str, str | None], str] = {}
    for update in burst:
        delivered = fake.delivered_at.get(update["update_id"])
        if "inline_query" in update:
            query = update["inline_query"]
            got = inline_answers.get(query["id"])
            if got is None:
                dropped += 1
                continue
            answered += 1
            latencies.append(got.at - (delivered or started))
            waits.append(got.at - started)
            continue
        msg = update["message"]
        got = replies.get((msg["chat"]["id"], msg["message_id"]), [])
        if msg["text"] == "/reload":
            reloads_ok += reload_succeeded([c.params["text"] for c in got])
            continue
        user = msg["from"]["id"]
        if not got:
            dropped += 1
            per_user[user]["dropped"] += 1
            continue
        text = got[0].params["text"]
        latencies.append(got[0].at - (delivered or started))
        waits.append(got[0].at - started)
        began = typing.get(msg["chat"]["id"])
        if msg["chat"]["type"] == "private" and began is not None and began <= got[0].at:
            handling.append(got[0].at - began)
        if any(text.startswith(p) for p in notice_prefix.values()):
            limited += 1
            per_user[user]["notice"] += 1
            continue
        answered += 1
        per_user[user]["answered"] += 1
        question = msg["text"].removeprefix("@loadbot ").strip()
        key = (question, msg["from"].get("language_code"))
        if key not in reference:
            answer = engine.ask(question, k=3, hint=key[1])
            reference[key] = answer_html(answer, strings(answer.language))[0]
        wrong += text != reference[key]

    sent_by_user = Counter(
        u["message"]["from"]["id"] for u in burst if "message" in u and u["message"]["text"] != "/reload"
    )
    within_limit_unanswered = sum(
        1 for user, n in sent_by_user.items() if n <= burst_limit and per_user[user]["answered"] != n
    )
    windows = int(elapsed // window) + 1
    limited_users = [user for user in sent_by_user if per_user[user]["notice"] or per_user[user]["dropped"]]
    silent_drops = sum(1 for user in limited_users if per_user[user]["dropped"] and not per_user[user]["notice"])
    too_many_notices = sum(1 for user in limited_users if per_user[user]["notice"] > windows)
    flooders = [user for user in sent_by_user if user >= 50_000]
    flooder_outcomes = Counter(
        (per_user[u]["answered"], per_user[u]["notice"], per_user[u]["dropped"]) for u in flooders
    )
    lat = np.array(latencies) * 1000
    work = np.array(handling) * 1000
    lag = re.search(r"max\.? (\d+) ms", stats_text)
    print(
        f"burst: {len(burst):,} updates ({args.reloads} of them /reload) from {args.users:,} users; "
        f"Telegram flood limits {'kept' if args.telegram_limits else 'raised'}; {args.backend} search backend; "
        f"{args.busy} other process(es) spinning on the CPU"
    )
    print(f"handled in {elapsed:.1f} s: {len(burst) / elapsed:.0f} updates/s")
    wait = np.array(waits) * 1000
    print(
        f"answer latency from the burst (all queued at once): p50 {np.percentile(wait, 50):.0f} ms, "
        f"p95 {np.percentile(wait, 95):.0f} ms, p99 {np.percentile(wait, 99):.0f} ms"
    )
    print(
        f"answer latency from delivery: p50 {np.percentile(lat, 50):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms, "
        f"p99 {np.percentile(lat, 99):.0f} ms"
    )
    print(
        f"handling latency (typing shown -> answer sent, private chats): p50 {np.percentile(work, 50):.0f} ms, "
        f"p95 {np.percentile(work, 95):.0f} ms, p99 {np.percentile(work, 99):.0f} ms"
    )
    print(f"answered {answered:,}, rate-limited (notice) {limited:,}, dropped after notice {dropped:,}")
    print(
        f"users within their limit left unanswered: {within_limit_unanswered}; users who hit the limit: "
        f"{len(limited_users)}, dropped without a notice: {silent_drops}, "
        f"with more than one notice per {window:.0f} s window: {too_many_notices}"
    )
    outcomes = ", ".join(f"{n} x ({a} answered, {k} notice, {d} dropped)" for (a, k, d), n in flooder_outcomes.items())
    print(f"flooders ({args.flood} questions in a row each): {outcomes}")
    print(
        f"wrong answers: {wrong}; calls the fake Bot API refused: {len(fake.rejected)}; "
        f"/reloads that succeeded: {reloads_ok} of {args.reloads}"
    )
    print(
        f"peak RSS growth of the bot: {(rss_peak - rss_before) / 1024:.0f} MB "
        f"(RSS {rss_before / 1024:.0f} MB when ready, peak {rss_peak / 1024:.0f} MB)"
    )
    print(f"worst event-loop delay (the bot's /stats): {lag.group(1) + ' ms' if lag else 'n/a'}")
    print(stall_summary(err))
    crashed = "Traceback" in err
    print(f"crashed: {'yes' if crashed else 'no'}" + (f"\n{err[-2000:]}" if crashed else ""))


def stall_summary(log_text: str) -> str:
    """The event-loop stalls the bot logged (over 100 ms), and where the worst one's time went."""
    stalls = sorted((m for m in STALL.finditer(log_text)), key=lambda m: int(m.group(1)))
    if not stalls:
        return "event-loop stalls over 100 ms logged by the bot: none"
    worst = stalls[-1]
    where = (
        f" (running callbacks {worst.group(2)} ms, waiting for a CPU {worst.group(3)} ms, "
        f"for the GIL or I/O {worst.group(4)} ms)"
        if worst.group(2) is not None
        else ""
    )
    return f"event-loop stalls over 100 ms logged by the bot: {len(stalls)}; the worst {worst.group(1)} ms{where}"


if __name__ == "__main__":
    raise SystemExit(main())
