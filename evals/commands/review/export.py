"""`chatbot-evals review export QUEUE --out DIR`: labels for `agree`, Parquet, reviewed references; versioned."""

from __future__ import annotations

import argparse

from evals.commands.options import command_parser, made_folder, parse

DESCRIPTION = """\
Write the queue's answers as the next version N in --out (nothing is overwritten):
  labels-vN.jsonl      the human-label format `chatbot-evals agree --labels` reads
  labels-vN.parquet    the same rows as a Hugging Face `datasets` Parquet file
  references-vN.jsonl  reviewed should_escalate per decision point (dataset.references_path=...)
  manifest-vN.json     the queue, counts per criterion, how answers were mapped, open disputes, sha256s
Mappings: empathy 1-5 as answered; accuracy correct/partly/wrong -> 5/3/1; the escalation class is derived
from the reviewer's "handed off correctly?" yes/no and whether the reply handed off. Adjudicated answers
replace the reviewers' (reviewer `adjudicated`). Details: docs/review.md.
"""

EPILOG = """\
examples:
  chatbot-evals review export review.db --out labels/
  chatbot-evals agree --labels labels/labels-v1.jsonl --run RUN_ID
  chatbot-evals run dataset=wmt24_chat dataset.references_path=labels/references-v1.jsonl
"""


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("review export", DESCRIPTION, EPILOG)
    parser.add_argument("queue", metavar="QUEUE", help="the queue file")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the versioned files")
    return parser


def main(args: list[str]) -> int:
    options = parse(_parser(), args)
    if options is None:
        return 0

    from evals.review.export import counts_text, export
    from evals.review.store import Store

    made_folder(options.out)
    with Store(options.queue) as store:
        done = export(store, options.out)
    print(f"{options.queue}: version {done.version} written to {done.folder}")
    print(counts_text(done.manifest))
    for note in done.notes:
        print(f"  note: {note}")
    print("files: " + ", ".join(str(p) for p in done.files))
    return 0
