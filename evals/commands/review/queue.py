"""`chatbot-evals review queue RUN --out review.db`: sample a run's decision points into a labelling queue."""

from __future__ import annotations

import argparse
from pathlib import Path

from evals.commands.options import add_store_options, command_parser, made_folder, parse
from evals.errors import UserError

DESCRIPTION = """\
Make a labelling queue (one SQLite file) from an evaluated run: which decision points reviewers see, with
one or two candidate replies each (from --variants; the `human` variant's replies are candidates like any
other), shown blind as "Reply A" / "Reply B" in an order shuffled per item with the seed.

RUN names results as `compare` does: a results folder, an MLflow parent run id, a run name,
tag:KEY=VALUE or `released`; `RUN#variant` makes that variant the only candidate.

strategies (all seeded):
  random        a uniform sample of decision points
  stratified    equal shares per slice of --by (language, intent or channel)
  disagreement  where the variants' values of one scorer, or an offline scorer and its judge, differ most
  uncertain     where a scorer is least sure (a judge's repeats disagree; a value near its scale's middle)
  contested     where a scorer and earlier human labels (--labels, the `agree` format) disagree most
Details: docs/review.md.
"""

EPILOG = """\
examples:
  chatbot-evals review queue runs/hydra/2026-12-01/10-00-00/results --out review.db
  chatbot-evals review queue released --strategy disagreement --size 60 --variants human,rules --out r.db
  chatbot-evals review queue RUN_ID --strategy stratified --by intent --ask empathy,should_escalate --out r.db
  chatbot-evals review queue RUN_ID --strategy contested --labels labels/labels-v1.jsonl --out r2.db
"""


def _parser() -> argparse.ArgumentParser:
    from evals.review.questions import DEFAULT_ASKED, QUESTIONS
    from evals.review.sampling import SLICE_BY, STRATEGIES

    parser = command_parser("review queue", DESCRIPTION, EPILOG)
    parser.add_argument("run", metavar="RUN", help="the evaluated run to sample from")
    parser.add_argument("--out", required=True, metavar="FILE", help="the queue file to make (never overwritten)")
    parser.add_argument("--size", type=int, default=50, metavar="N", help="items to sample (default: %(default)s)")
    parser.add_argument("--strategy", default="random", choices=STRATEGIES, help="how to sample (default: random)")
    parser.add_argument("--by", default="language", choices=SLICE_BY,
                        help="the slice for --strategy stratified (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="sampling and reply order (default: %(default)s)")
    parser.add_argument("--ask", default=",".join(DEFAULT_ASKED), metavar="Q,Q",
                        help=f"questions to ask, of {', '.join(QUESTIONS)} (default: all)")
    parser.add_argument("--per-item", type=int, default=2, metavar="N",
                        help="reviewers per item (default: %(default)s; 2 or more to measure agreement)")
    parser.add_argument("--variants", metavar="A,B", help="one or two variants whose replies are candidates "
                                                          "(default: the run's first two)")
    parser.add_argument("--labels", metavar="FILE", help="earlier human labels, for --strategy contested")
    parser.add_argument("--name", help="the queue's name on the page (default: the --out file's name)")
    add_store_options(parser, "run names, tags and `released`")
    return parser


def main(args: list[str]) -> int:
    options = parse(_parser(), args)
    if options is None:
        return 0

    from evals.labels import load_labels
    from evals.locate import locate
    from evals.review.questions import parse_asked
    from evals.review.sampling import draw
    from evals.review.store import QueueMeta, Store

    asked = parse_asked(options.ask)
    if options.per_item < 1:
        raise UserError(f"--per-item {options.per_item}: give at least 1 reviewer per item")
    if Path(options.out).exists():
        raise UserError(f"{options.out}: already exists; a queue is never overwritten (choose another --out)")
    made_folder(Path(options.out).parent)
    found = locate(options.run, options.tracking_uri, options.experiment)
    variants = options.variants.split(",") if options.variants else ([found.variant] if found.variant else None)
    labels = load_labels(options.labels) if options.labels else None
    if labels is not None and options.strategy != "contested":
        raise UserError("--labels is read by --strategy contested only")
    sample = draw(found.result, options.strategy, options.size, options.seed, options.by, variants, labels)
    extra = {"results": _results_folder(options.run) or options.run.partition("#")[0],
             "tracking_uri": options.tracking_uri, "experiment": options.experiment, "run_id": found.run_id,
             "variants": sorted({v for item in sample.items for v, _, _ in item.candidates}),
             "size": options.size, "by": options.by if options.strategy == "stratified" else None,
             "eligible": sample.eligible, "without_candidate": sample.without_candidate, "notes": sample.notes,
             **({"labels": labels.path, "labels_sha256": labels.sha256} if labels else {})}
    meta = QueueMeta(options.name or Path(options.out).stem, options.run, options.strategy, options.seed, asked,
                     options.per_item, extra)
    with Store.create(options.out, meta, sample.items) as store:
        made = len(store.items())
    print(f"{options.out}: {made} items ({options.strategy}, seed {options.seed}) from {options.run}; "
          f"candidates from {', '.join(extra['variants'])}; asks {', '.join(asked)}; "
          f"{options.per_item} reviewer{'s' if options.per_item != 1 else ''} per item")
    if sample.without_candidate:
        print(f"  {sample.without_candidate} of {sample.eligible + sample.without_candidate} decision points left "
              "out: no usable reply from those variants (errored or missing)")
    for note in sample.notes:
        print(f"  note: {note}")
    print(f"next: chatbot-evals review reviewer {options.out} NAME --owner   (prints the owner's token)")
    return 0


def _results_folder(reference: str) -> str | None:
    """The absolute results folder RUN names, when it is a folder (an MLflow reference stays as typed)."""
    folder = Path(reference.partition("#")[0])
    if not folder.is_dir():
        return None
    inner = folder / "results"
    return str((inner if (inner / "manifest.json").is_file() else folder).resolve())
