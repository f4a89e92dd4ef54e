"""Where the shards of a run execute: in this process one after another (`local`), in processes on this
machine (`joblib`), or as tasks on a Ray cluster (`ray`). No scheduler of our own: each engine is given
the shard calls and waits for them, while the caller watches the chunk markers for progress.

An endpoint's limits hold across all shards together: each shard's bots and judges get an equal share
of every limit (concurrency, requests and tokens per minute) before they start (`share_limits`).
Shards write to one folder, so every worker must see the run's output folder (one machine, or a
shared filesystem on a cluster).
"""

from __future__ import annotations

import copy
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any, Literal

from evals.calls.limits import Limits
from evals.errors import UserError

Engine = Literal["local", "joblib", "ray"]
ENGINES: tuple[str, ...] = ("local", "joblib", "ray")
ShardCall = tuple[Callable[..., Any], tuple[Any, ...]]


def run_all(engine: str, calls: Sequence[ShardCall], workers: int, ray_address: str | None = None) -> list[Any]:
    """Run every shard call; returns what each returned, in order. A failed shard fails the run."""
    if engine == "local":
        return [function(*args) for function, args in calls]
    if engine == "joblib":
        from joblib import Parallel, delayed

        return list(Parallel(n_jobs=workers, backend="loky")(delayed(f)(*a) for f, a in calls))
    if engine == "ray":
        return _on_ray(calls, workers, ray_address)
    raise UserError(f"shards.engine: {engine!r} is not an engine (one of {', '.join(ENGINES)})")


def _on_ray(calls: Sequence[ShardCall], workers: int, address: str | None) -> list[Any]:
    try:
        import ray
    except ImportError:
        raise UserError("shards.engine=ray needs Ray: pip install 'chatbot-evals[sweeps]'") from None
    connected = False
    sigterm = signal.getsignal(signal.SIGTERM)  # ray.init installs its own; the caller's is put back after
    if not ray.is_initialized():
        # address null: a Ray of our own on this machine, stopped afterwards; else the cluster at the address
        ray.init(address=address or "local", num_cpus=None if address else workers, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
        connected = True  # ours to end: a local Ray stops, a cluster is only disconnected from
    try:
        # a worker killed mid-shard is retried; the retry skips the chunks its first attempt finished
        remote = ray.remote(num_cpus=1, max_retries=2)(_call)
        return list(ray.get([remote.remote(function, args) for function, args in calls]))
    finally:
        if connected:
            ray.shutdown()
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, sigterm)


def _call(function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    return function(*args)


def share_limits(component: Any, shards: int) -> Any:
    """A copy of a bot or judge whose call limits are its share for one of `shards` shards at once;
    a component without limits (an offline bot or scorer) is returned as it is."""
    holders = [component, getattr(component, "chat", None)]
    if shards <= 1 or not any(isinstance(getattr(h, "limits", None), Limits) for h in holders):
        return component
    shared = copy.deepcopy(component)
    for holder in (shared, getattr(shared, "chat", None)):
        limits = getattr(holder, "limits", None)
        if isinstance(limits, Limits):
            holder.limits = limits.share(shards)
    if isinstance(getattr(shared, "concurrency", None), int) and isinstance(getattr(shared, "limits", None), Limits):
        shared.concurrency = shared.limits.concurrency
    return shared
