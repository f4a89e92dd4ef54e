"""`chatbot-evals review align RUN --labels L --judge J`: add reviewers' worked cases to a judge's rubric,
keep it only if its agreement with people rises beyond noise on held-out labels. Exit 0 when it ran."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from evals.commands.options import add_store_options, command_parser, made_folder, parse
from evals.errors import UserError, yaml_problem

DESCRIPTION = """\
Refine an LLM judge from reviewers' labels. The labelled replies (a label file as `review export` writes
it; rows of the reviewer `adjudicated` are final, otherwise the reviewers' consensus counts) are split by
conversation into a training and a held-out part. Up to --examples training replies where the run's judge
and people disagree most become worked cases in a copy of the judge's rubric (its version is its content
hash). The held-out replies are judged again with the old and the new rubric, each compared with people
(Cohen's kappa, bootstrap CI), and the new rubric is kept only when the paired bootstrap CI of the kappa
gain lies above 0. Old and new are logged side by side to MLflow as a run named `align`.

RUN names an evaluated run as `compare` does (a results folder, a run id, a run name, tag:KEY=VALUE,
`released`; `#variant` aligns on that variant's replies only). The judge's endpoint is the run's (from its
manifest) unless --judge-config gives one. Details: docs/review.md.
"""

EPILOG = """\
writes to --out: JUDGE.aligned.yaml (kept) or JUDGE.not_kept.yaml, and alignment.json (the figures, the
worked cases and each held-out reply's labels).
exit codes: 0 it ran (kept or not); 2 a mistake in the arguments, labels or run.

examples:
  chatbot-evals review align runs/hydra/2026-12-01/10-00-00-000000 --labels labels/labels-v3.jsonl \\
      --judge judge_empathy
  chatbot-evals review align released --labels labels.jsonl --judge judge_escalation --examples 8 \\
      --judge-config my_judge.yaml --out aligned/
"""


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("review align", DESCRIPTION, EPILOG)
    parser.add_argument("run", metavar="RUN", help="the evaluated run whose judge is aligned")
    parser.add_argument("--labels", required=True, metavar="FILE", help="people's labels (JSONL or CSV)")
    parser.add_argument("--judge", required=True, metavar="NAME", help="the run's judge scorer, e.g. judge_empathy")
    parser.add_argument("--examples", type=int, default=6, metavar="K",
                        help="at most this many worked cases to add (default: %(default)s)")
    parser.add_argument("--holdout", type=float, default=0.5, metavar="SHARE",
                        help="share of labelled conversations held out to test (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="split, tie-break and bootstrap seed (default: 0)")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help="bootstrap resamples of the held-out replies (default: %(default)s)")
    parser.add_argument("--judge-config", metavar="FILE",
                        help="the judge endpoint as YAML (keys of conf/judge/openai.yaml); default: the run's")
    parser.add_argument("--dataset", metavar="FILE", help="the run's dataset, when its recorded path is elsewhere")
    parser.add_argument("--out", default="aligned", metavar="DIR", help="folder for the files (default: %(default)s)")
    add_store_options(parser, "run names, tags and `released`")
    return parser


def _check(options: argparse.Namespace) -> None:
    if options.examples < 1:
        raise UserError(f"--examples {options.examples}: at least 1 worked case")
    if not 0 < options.holdout < 1:
        raise UserError(f"--holdout {options.holdout:g}: a share strictly between 0 and 1, e.g. 0.5")
    if options.bootstrap < 100:
        raise UserError(f"--bootstrap {options.bootstrap}: at least 100 resamples for a 95% interval")


def _judge_config(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"--judge-config {path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise UserError(f"--judge-config {path}: not valid YAML ({yaml_problem(exc)})") from None
    if not isinstance(data, dict):
        raise UserError(f"--judge-config {path}: expected a mapping of judge settings (model, base_url, ...)")
    return data


def main(args: list[str]) -> int:
    options = parse(_parser(), args)
    if options is None:
        return 0
    _check(options)

    from evals.labels import load_labels
    from evals.load import load_conversations
    from evals.locate import locate
    from evals.review import align

    found = locate(options.run, options.tracking_uri, options.experiment)
    labels = load_labels(options.labels)
    setup = align.judge_setup(found.result, options.judge, _judge_config(options.judge_config),
                              f"--judge-config {options.judge_config}")
    dataset, view = align.run_dataset(found.result, options.dataset)
    conversations = load_conversations(dataset, on_error="skip").conversations
    out = made_folder(options.out)
    result = align.align(found.result, labels, options.judge, setup, conversations, out, view=view,
                         examples=options.examples, holdout=options.holdout, seed=options.seed,
                         n_boot=options.bootstrap, variants=[found.variant] if found.variant else None)
    if setup.masked:
        result.notes.append(f"the run's manifest hides {', '.join(setup.masked)} of the judge (a secret-looking "
                            "key); the judge's default was used for both rubrics (--judge-config sets it)")
    files = _write(result, out)
    _print(result, labels.path)
    print(f"written: {', '.join(str(f) for f in files)}")
    if result.kept:
        print(f"use it: chatbot-evals run ... scorer.{result.judge}.rubric={result.rubric_file}")
    _log(options, found, result, labels, files)
    return 0


def _write(result, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    summary = out / "alignment.json"
    summary.write_text(json.dumps(result.summary(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [f for f in (result.rubric_file, summary) if f is not None]


def _ci(low: float, high: float, sign: str = "") -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"{low:{sign}.2f}..{high:{sign}.2f}"


def _print(result, labels_path: str) -> None:
    print(f"{result.judge} ({result.criterion}) against people ({labels_path}): {result.train[0]} training replies "
          f"({result.train[1]} conversations), {result.heldout[0]} held out ({result.heldout[1]} conversations)")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.old is not None and result.new is not None:
        print(f"  {'rubric':<8}{'version':<14}{'kappa':>7}  {'95% CI':<14}{'n':>4}")
        for name, side in (("old", result.old), ("new", result.new)):
            print(f"  {name:<8}{side.version:<14}{side.kappa:>7.2f}  {_ci(*side.ci):<14}{side.n:>4}")
        print(f"  {'gain':<8}{'':<14}{result.difference:>+7.2f}  {_ci(*result.difference_ci, '+'):<14}"
              f"{result.old.n:>4}  (paired bootstrap, {result.n_boot} resamples)")
        print(f"  worked cases added: {len(result.examples)}")
    print(result.decision)


def _log(options: argparse.Namespace, found, result, labels, files: list[Path]) -> None:
    """A side run named `align` beside the evaluated run (or in --experiment for a folder)."""
    from evals import tracking

    uri = options.tracking_uri
    if not tracking.store_exists(uri):
        print(f"note: not logged to MLflow (no store at {uri})", file=sys.stderr)
        return
    experiment_id = (tracking.experiment_of(uri, found.run_id)[0] if found.run_id is not None
                     else tracking.experiment_id_named(uri, options.experiment, create=True))
    tags = {"judge": result.judge, "criterion": result.criterion, "decision": "kept" if result.kept else "not_kept",
            "evals.align.decision": result.decision[:5000], "labels": labels.path, "labels_sha256": labels.sha256,
            "run": options.run, **({"evals.run_id": found.run_id} if found.run_id else {})}
    metrics: dict[str, float] = {"kept": float(result.kept), "examples.n": float(len(result.examples)),
                                 "heldout.n": float(result.heldout[0])}
    for name, side in (("old", result.old), ("new", result.new)):
        if side is None:
            continue
        tags[f"{name}.rubric_version"] = side.version
        tags[f"scorer_version.{name}"] = side.scorer_version
        metrics.update({f"{name}.kappa": side.kappa, f"{name}.kappa_ci_low": side.ci[0],
                        f"{name}.kappa_ci_high": side.ci[1], f"{name}.n": float(side.n)})
    if result.old is not None:
        metrics.update({"gain.kappa": result.difference, "gain.ci_low": result.difference_ci[0],
                        "gain.ci_high": result.difference_ci[1]})
    run_id = tracking.log_side_run(uri, str(experiment_id), "align", tags, metrics, files)
    print(f"align run {run_id} in MLflow ({uri})")
