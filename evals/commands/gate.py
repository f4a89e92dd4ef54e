"""`chatbot-evals gate CANDIDATE`: may this candidate ship? Exit 0 pass, 1 fail, 2 cannot decide."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from evals.commands.options import add_store_options, command_parser, made_folder, parse
from evals.errors import UserError

DESCRIPTION = """\
Judge an evaluated candidate against a policy (floors, non-inferiority margins against a baseline,
zero-tolerance rules, judge agreement) and give a verdict with its reasons. Floors are judged on the
confidence interval (a "higher is better" floor passes only when the CI's low end reaches it); margins
on the paired difference's CI bound in the bad direction, over the decision points both answered.

CANDIDATE and --baseline name results as `compare` does: a results folder, an MLflow parent run id, a
run name, tag:KEY=VALUE, or `released` (the newest run marked by `chatbot-evals release`); `#variant`
picks one variant (needed when the run has several). `--baseline '#human'` is a variant of the
candidate's own run. Writes gate.md (for a pull-request comment), junit.xml and verdict.json to --out
and logs them to MLflow as a run named `gate` beside the candidate's run. Details: docs/gate.md.
"""

EPILOG = """\
exit codes: 0 pass; 1 fail (a rule failed); 2 cannot decide (baseline not found, too few samples for
a rule, a judge not calibrated, the error budget exceeded) or a mistake in the arguments or policy.

examples:
  chatbot-evals gate 2b818e28b1c0458eb33b7e35fb30d12c#rules          # against the released run
  chatbot-evals gate pr-142#mybot --baseline tag:branch=main --out gate-report
  chatbot-evals gate RUN_ID#rules --baseline '#human'                 # a variant of the same run
  chatbot-evals gate runs/hydra/2026-12-01/12-00-00-000000#rules --baseline none --policy my_gate.yaml
"""


def _parser() -> argparse.ArgumentParser:
    from evals.config import CONFIG_DIR

    parser = command_parser("gate", DESCRIPTION, EPILOG)
    parser.add_argument("candidate", metavar="CANDIDATE", help="the evaluated candidate, e.g. RUN_ID#rules")
    parser.add_argument("--baseline", default="released", metavar="REF",
                        help="what the candidate must not be worse than; 'none' for no baseline "
                             "(default: %(default)s)")
    parser.add_argument("--policy", default=str(CONFIG_DIR / "gate" / "default.yaml"), metavar="FILE",
                        help="the gate's rules, YAML (default: the shipped conf/gate/default.yaml)")
    add_store_options(parser, "names, tags and `released`")
    parser.add_argument("--out", metavar="DIR",
                        help="folder for gate.md, junit.xml, verdict.json (default: runs/gate/DATE/TIME)")
    return parser


def main(args: list[str]) -> int:
    options = parse(_parser(), args)
    if options is None:
        return 0

    from evals import gate, gate_report
    from evals.locate import locate

    out = made_folder(options.out) if options.out else None  # the user's folder: checked before any work
    policy = gate.load_policy(options.policy)
    uri, experiment = options.tracking_uri, options.experiment
    found = locate(options.candidate, uri, experiment)
    candidate = gate.Side(found.result, _candidate_variant(found), options.candidate, found.run_id)
    baseline, problem = _baseline(options.baseline, candidate, uri, experiment)
    notes = []
    if problem is not None and not policy.needs_baseline:
        notes.append(f"no baseline ({problem}); the policy has no margins, so none is needed")
        problem = None
    store = _store(uri, candidate, experiment)
    lookup = None
    if store is not None:
        from evals import tracking

        lookup = tracking.kappa_lookup(uri, store)
    verdict = gate.decide(policy, candidate, baseline, baseline_problem=problem, kappa_lookup=lookup)
    verdict.notes.extend(notes)
    out = out or made_folder(Path("runs", "gate", datetime.now(timezone.utc).strftime("%Y-%m-%d/%H-%M-%S")))
    files = gate_report.write(verdict, out)
    _print(verdict)
    print(f"written: {', '.join(str(f) for f in files)}")
    if store is not None:
        from evals import tracking

        run_id = tracking.log_gate(uri, store, gate_report.tags_of(verdict), gate_report.metrics_of(verdict), files)
        print(f"gate run {run_id} in MLflow ({uri})")
    else:
        print(f"note: not logged to MLflow (no store at {uri})", file=sys.stderr)
    return verdict.exit_code


def _candidate_variant(found) -> str:
    if found.variant:
        return found.variant
    variants = found.result.variants
    if len(variants) == 1:
        return variants[0]
    raise UserError(f"{found.reference}: the run has variants {', '.join(variants)}; name the candidate, "
                    f"e.g. {found.reference}#{variants[-1]}")


def _baseline(reference: str, candidate, uri: str, experiment: str):
    """(the baseline side, None), or (None, why there is none)."""
    from evals import gate
    from evals.locate import Located, locate

    if reference.lower() == "none":
        return None, "--baseline none"
    if reference.startswith("#"):  # a variant of the candidate's own run
        variant = reference[1:]
        if variant not in candidate.result.variants:
            raise UserError(f"--baseline {reference}: no variant {variant!r} in {candidate.reference} "
                            f"(variants: {', '.join(candidate.result.variants)})")
        found = Located(candidate.result, variant, candidate.run_id, reference)
    else:
        try:
            found = locate(reference, uri, experiment)
        except UserError as exc:
            return None, str(exc)
    variants = found.result.variants
    variant = found.variant or (candidate.variant if candidate.variant in variants else
                                variants[0] if len(variants) == 1 else None)
    if variant is None:
        return None, (f"{reference}: no variant {candidate.variant!r} and several others ({', '.join(variants)}); "
                      f"name one, e.g. --baseline {reference}#{variants[0]}")
    same_run = found.result is candidate.result or (found.run_id is not None and found.run_id == candidate.run_id)
    if same_run and variant == candidate.variant:
        raise UserError(f"--baseline {reference}: that is the candidate itself ({candidate.reference}, variant "
                        f"{variant}); name another run or variant")
    return gate.Side(found.result, variant, reference, found.run_id), None


def _store(uri: str, candidate, experiment: str) -> str | None:
    """The experiment id the gate run goes to (the candidate's own), or None with no MLflow store."""
    from evals import tracking

    if not tracking.store_exists(uri):
        return None
    if candidate.run_id is not None:
        return tracking.experiment_of(uri, candidate.run_id)[0]
    return tracking.experiment_id_named(uri, experiment, create=True)


def _print(verdict) -> None:
    from evals.gate_report import value_text

    print(verdict.headline())
    for rule in verdict.rules:
        n = f", n={rule.n}" if rule.n is not None else ""
        value = value_text(rule)
        shown = f" {value}{n}" if value != "–" else n.removeprefix(",")
        print(f"  {rule.outcome:>13}  {rule.rule}:{shown} ({rule.threshold}) {rule.reason}")
