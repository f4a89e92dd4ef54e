"""The replay engine against its physical limit, and against a bare asyncio loop (the floor).

    .venv/bin/python bench/replay_engine.py                    # all workloads, 3 repeats
    .venv/bin/python bench/replay_engine.py --quick            # 1,000 x 32 only, 1 repeat

A loopback OpenAI-compatible server with a fixed latency (default 100 ms) runs in its own
process. Each measurement runs in a fresh child process, so its CPU time and peak RSS are its own:
- floor: `asyncio` + `openai.AsyncOpenAI` + a semaphore, sending the same requests;
- engine: `evals.replay.replay` with the OpenAI-compatible variant (endpoint limits, retries,
  reply cache in SQLite) — everything a run does to get replies, without scoring and MLflow;
- cached: the engine again on the cache the previous engine run filled (no calls);
- judged: 1,000 replies each judged once by the empathy judge (2,000 calls), against a bare loop
  making the same 2,000 calls.
Floor and engine alternate within each repeat; medians are reported. Figures go to
bench/results/replay_engine.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPT = ROOT / "conf" / "prompts" / "support_agent.md"
RUBRIC = ROOT / "evals" / "scorers" / "rubrics" / "empathy.yaml"
WORKLOADS = [(1000, 32), (1000, 64), (10000, 32), (10000, 64)]
JUDGED = [(1000, 32)]  # 1,000 replies, each judged once: 2,000 calls


def inquiries(n: int) -> list[str]:
    return [f"Hello, I ordered item {i} last week and it has not arrived yet. Can you check?" for i in range(n)]


async def floor(url: str, n: int, concurrency: int) -> None:
    import openai

    from evals.variants.openai_chat import TRANSFER_TOOL

    system = PROMPT.read_text(encoding="utf-8").replace("{language}", "en")
    client = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def one(text: str) -> None:
        async with gate:
            await client.chat.completions.create(
                model="bench-model",
                messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
                tools=[TRANSFER_TOOL], temperature=0.0, seed=0, max_tokens=400)

    await asyncio.gather(*(one(t) for t in inquiries(n)))
    await client.close()


def bench_cases(n: int) -> list:
    from evals.types import Case, Conversation, Reference

    return [Case(Conversation(conversation_id=f"b{i}", language="en", turns=[{"role": "customer", "text": text}]),
                 0, Reference(turn=0)) for i, text in enumerate(inquiries(n))]


def bench_bot(url: str, concurrency: int):
    from evals.variants.openai_chat import OpenAIChatBot

    os.environ["BENCH_KEY"] = "bench"
    return OpenAIChatBot("bench", model="bench-model", system_prompt=str(PROMPT), base_url=url,
                         api_key_env="BENCH_KEY", limits={"concurrency": concurrency})


async def engine(url: str, n: int, concurrency: int, cache_path: str) -> None:
    from evals.cache import ReplyCache
    from evals.replay import replay

    cases = bench_cases(n)
    bot = bench_bot(url, concurrency)
    bot.prepare(cases)
    replies = await replay(bot, cases, cache=ReplyCache(cache_path))
    errors = sum(r.error is not None for r in replies)
    if errors:
        raise SystemExit(f"{errors} replies failed")


async def floor_judged(url: str, n: int, concurrency: int) -> None:
    """The same 2n calls as `engine_judged`, with nothing but asyncio and the client."""
    import openai

    from evals.scorers.judge import Rubric, data_message
    from evals.variants.openai_chat import TRANSFER_TOOL

    system = PROMPT.read_text(encoding="utf-8").replace("{language}", "en")
    rubric = Rubric.load(RUBRIC)
    judge_system = rubric.system_prompt()
    fmt = {"type": "json_schema", "json_schema": {"name": "empathy_verdict", "schema": rubric.output, "strict": True}}
    client = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def reply(text: str) -> str:
        async with gate:
            out = await client.chat.completions.create(
                model="bench-model",
                messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
                tools=[TRANSFER_TOOL], temperature=0.0, seed=0, max_tokens=400)
        return out.choices[0].message.content or ""

    async def judge(text: str, answer: str) -> None:
        payload = {"language": "en", "conversation": [{"role": "customer", "text": text}],
                   "reply": {"text": answer, "handed_off": False}}
        async with gate:
            out = await client.chat.completions.create(
                model="judge-model", messages=[{"role": "system", "content": judge_system},
                                               {"role": "user", "content": data_message(payload)}],
                temperature=0.0, seed=0, max_tokens=600, response_format=fmt)
        json.loads(out.choices[0].message.content or "")

    texts = inquiries(n)
    answers = await asyncio.gather(*(reply(t) for t in texts))
    await asyncio.gather(*(judge(t, a) for t, a in zip(texts, answers)))
    await client.close()


async def engine_judged(url: str, n: int, concurrency: int, cache_path: str) -> None:
    from evals.cache import ReplyCache
    from evals.replay import replay
    from evals.scorers.judge_empathy import EmpathyJudge

    cases = bench_cases(n)
    bot = bench_bot(url, concurrency)
    judge = EmpathyJudge("judge_empathy", rubric=str(RUBRIC), judge={
        "model": "judge-model", "base_url": url, "api_key_env": "BENCH_KEY", "limits": {"concurrency": concurrency}})
    cache = ReplyCache(cache_path)
    bot.prepare(cases)
    judge.prepare(cache)
    replies = await replay(bot, cases, cache=cache)
    scores = await judge.score_many(cases, replies)
    unscored = sum(not s.scored for s in scores)
    if unscored:
        raise SystemExit(f"{unscored} replies unscored: {scores[0].explanation}")


def child(args: argparse.Namespace) -> None:
    # Imports are paid before the clock starts, for both sides alike.
    import openai  # noqa: F401

    import evals.replay  # noqa: F401
    import evals.scorers.judge_empathy  # noqa: F401  (the floor builds the same judge requests)
    start_cpu = time.process_time()
    start = time.perf_counter()
    if args.mode == "floor":
        asyncio.run(floor(args.url, args.n, args.concurrency))
    elif args.mode == "engine":
        asyncio.run(engine(args.url, args.n, args.concurrency, args.cache))
    elif args.mode == "floor-judged":
        asyncio.run(floor_judged(args.url, args.n, args.concurrency))
    else:
        asyncio.run(engine_judged(args.url, args.n, args.concurrency, args.cache))
    print(json.dumps({"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - start_cpu,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure(mode: str, url: str, n: int, concurrency: int, cache: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--url", url, "--n", str(n),
                          "--concurrency", str(concurrency), "--cache", cache],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    """The loopback server and its OpenAI-compatible base URL."""
    from loopback_process import start_server as start_loopback  # bench/ is on the path when run as a script

    server, url = start_loopback(latency)
    return server, url + "/v1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.1, help="server latency per request, seconds")
    parser.add_argument("--quick", action="store_true", help="1,000 x 32 once, to check the set-up")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "replay_engine.json")
    parser.add_argument("--child", choices=["floor", "engine", "floor-judged", "engine-judged"],
                        help=argparse.SUPPRESS, dest="mode")
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        child(args)
        return
    workloads = [(n, c, False) for n, c in ([(1000, 32)] if args.quick else WORKLOADS)]
    workloads += [] if args.quick else [(n, c, True) for n, c in JUDGED]
    repeat = 1 if args.quick else args.repeat
    server, url = start_server(args.latency)
    results = []
    try:
        for n, concurrency, judged in workloads:
            floor_mode, engine_mode = ("floor-judged", "engine-judged") if judged else ("floor", "engine")
            runs: dict[str, list[dict[str, float]]] = {"floor": [], "engine": [], "cached": []}
            for r in range(repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    cache = str(Path(tmp) / "cache.sqlite")
                    order = [("floor", floor_mode), ("engine", engine_mode)]
                    for name, mode in order if r % 2 == 0 else order[::-1]:
                        runs[name].append(measure(mode, url, n, concurrency, cache))
                    runs["cached"].append(measure(engine_mode, url, n, concurrency, cache))
                print(f"{n} x {concurrency}{' +judge' if judged else ''} #{r + 1}: " + ", ".join(
                    f"{m} {v[-1]['wall_s']:.2f} s" for m, v in runs.items()), flush=True)
            results.append(summarise(n, concurrency, args.latency, runs, calls_per_item=2 if judged else 1))
    finally:
        server.terminate()
        server.wait(timeout=10)
    report = {
        "what": "replay engine (OpenAI-compatible variant) vs a bare asyncio+AsyncOpenAI+semaphore loop",
        "server_latency_s": args.latency, "repeats": repeat, "workloads": results,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print_table(results)
    print(f"-> {args.out}")


def summarise(n: int, concurrency: int, latency: float, runs: dict[str, list[dict[str, float]]],
              calls_per_item: int = 1) -> dict:
    """Medians, and ratios to the floor and to the physical limit (calls x latency / concurrency)."""
    med = {m: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for m, rs in runs.items()}
    calls = n * calls_per_item
    limit = calls * latency / concurrency
    return {
        "n": n, "calls": calls, "judged": calls_per_item > 1, "concurrency": concurrency, "physical_limit_s": limit,
        **{f"{m}_{k}": v for m, d in med.items() for k, v in d.items()},
        "floor_vs_limit": med["floor"]["wall_s"] / limit,
        "engine_vs_limit": med["engine"]["wall_s"] / limit,
        "engine_vs_floor": med["engine"]["wall_s"] / med["floor"]["wall_s"],
        "floor_cpu_ms_per_call": 1000 * med["floor"]["cpu_s"] / calls,
        "engine_cpu_ms_per_call": 1000 * med["engine"]["cpu_s"] / calls,
        "runs": runs,
    }


def print_table(results: list[dict]) -> None:
    print(f"{'workload':>12} {'limit s':>8} {'floor s':>8} {'engine s':>9} {'eng/floor':>9} {'eng/limit':>9} "
          f"{'cpu ms/call f|e':>16} {'RSS MB f|e':>12} {'cached s':>9}")
    for r in results:
        name = f"{r['n']} x {r['concurrency']}" + ("+j" if r["judged"] else "")
        print(f"{name:>12} {r['physical_limit_s']:>8.2f} {r['floor_wall_s']:>8.2f} "
              f"{r['engine_wall_s']:>9.2f} {r['engine_vs_floor']:>9.3f} {r['engine_vs_limit']:>9.2f} "
              f"{r['floor_cpu_ms_per_call']:>7.2f}|{r['engine_cpu_ms_per_call']:<8.2f} "
              f"{r['floor_peak_rss_mb']:>5.0f}|{r['engine_peak_rss_mb']:<6.0f} {r['cached_wall_s']:>9.2f}")


if __name__ == "__main__":
    main()
