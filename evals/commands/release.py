"""`chatbot-evals release RUN`: mark an evaluated run as the released bot's, the gate's default baseline."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

from evals.commands.options import add_store_options, command_parser, parse
from evals.errors import UserError

DESCRIPTION = """\
Mark an evaluated (parent) run as released: tags evals.released=true and evals.released_at (UTC).
`chatbot-evals gate CANDIDATE` compares with the newest released run by default (`--baseline released`;
newest by when the run was evaluated). --undo unmarks a run, e.g. after a roll-back, so that the
previous release is the baseline again. RUN is a parent run id, a run name or tag:KEY=VALUE, as for gate.
"""

EPILOG = """\
examples:
  chatbot-evals release 2b818e28b1c0458eb33b7e35fb30d12c
  chatbot-evals release tag:git_sha=4f2a9c1 --experiment payments-bot
  chatbot-evals release 2b818e28b1c0458eb33b7e35fb30d12c --undo
"""

RELEASED_AT = "evals.released_at"


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("release", DESCRIPTION, EPILOG)
    parser.add_argument("run", metavar="RUN", help="the evaluated parent run")
    parser.add_argument("--undo", action="store_true", help="unmark the run (evals.released=false)")
    add_store_options(parser, "run names and tags")
    return parser


def main(args: list[str]) -> int:
    options = parse(_parser(), args)
    if options is None:
        return 0
    if "#" in options.run:
        raise UserError(f"{options.run}: release marks a whole run; leave out the #variant "
                        "(the gate picks the variant: --baseline released#VARIANT)")

    from evals import tracking
    from evals.locate import locate

    found = locate(options.run, options.tracking_uri, options.experiment)  # a run with results, not a variant run
    if found.run_id is None:
        raise UserError(f"{options.run}: a results folder; release marks an MLflow run (give its run id)")
    uri = options.tracking_uri
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if options.undo:
        tracking.set_run_tag(uri, found.run_id, tracking.RELEASED_TAG, "false")
        tracking.set_run_tag(uri, found.run_id, "evals.unreleased_at", when)
        print(f"run {found.run_id} is no longer marked released")
    else:
        tracking.set_run_tag(uri, found.run_id, tracking.RELEASED_TAG, "true")
        tracking.set_run_tag(uri, found.run_id, RELEASED_AT, when)
        print(f"run {found.run_id} marked released at {when}")
    _, experiment = tracking.experiment_of(uri, found.run_id)
    current = tracking.find_run(uri, experiment, tag=(tracking.RELEASED_TAG, "true"))
    if current is None:
        print(f"no run of experiment '{experiment}' is marked released now")
    elif current == found.run_id:
        print(f"`--baseline released` now finds it (experiment '{experiment}')")
    elif options.undo:
        print(f"`--baseline released` now finds run {current} (experiment '{experiment}')")
    else:
        print(f"note: `--baseline released` finds run {current}, evaluated later and also marked released; "
              f"`chatbot-evals release {current} --undo` to make this one the baseline")
    return 0
