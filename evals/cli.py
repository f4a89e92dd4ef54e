"""The `chatbot-evals` command: thin wiring of the stages, and errors a user can act on."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from evals.commands import COMMANDS
from evals.config import CONFIG_DIR, options, register_resolvers

if TYPE_CHECKING:
    from rich.console import Console

# Heavy libraries (mlflow, pandas, matplotlib, datasets, ...) are imported by the command that needs
# them, after its arguments are checked: `--help` and a config mistake answer in well under a second.

USAGE = """\
usage: chatbot-evals COMMAND [ARGS]

Offline evaluation of customer-service chatbots: replays historic customer conversations
through chatbot variants and scores empathy, accuracy and escalation appropriateness
(did the bot hand off to a human exactly when it should). Results go to MLflow.

commands:
  run [OVERRIDES]     run an experiment (Hydra config; `run --help` lists every option;
                      `run --config-dir DIR ...` adds your own configs from DIR)
  validate FILE       check a dataset file and report every malformed row (file, row, field)
  agree --labels FILE --run RUN_ID
                      how far each scorer agrees with human labels (kappa, alpha, CIs), logged
                      as an MLflow run `agreement`; `agree --help` shows the label format
  compare REF REF [REF...]
                      candidates vs the first REF on the same decision points: paired CIs, Holm-
                      corrected p, smallest detectable difference, McNemar on hand-offs, replies
                      better/worse, --by language slices; `compare --help` lists REF forms
  gate CANDIDATE [--baseline REF] [--policy FILE] [--out DIR]
                      may CANDIDATE ship? floors, margins against the released run, zero-
                      tolerance rules, judge agreement; exit 0 pass, 1 fail, 2 cannot decide;
                      writes gate.md (for a pull request), junit.xml and verdict.json
  release RUN [--undo]
                      mark a run released: the gate's default baseline
  review SUB          reviewers label samples in a local web page: queue, reviewer, serve,
                      stats, export, align (`review --help`)

examples:
  chatbot-evals run                                  # WMT24 chats, human/retrieval/rules bots
  chatbot-evals run dataset=bitext variant=[rules] sample.conversations=100
  chatbot-evals run dataset=file dataset.path=my_chats.jsonl
  chatbot-evals run --multirun variant=retrieval,rules
  chatbot-evals validate my_chats.jsonl
  chatbot-evals agree --labels labels.jsonl --run 2b818e28b1c0458eb33b7e35fb30d12c \\
      --require judge_empathy=0.6                    # how far scorers agree with people
  chatbot-evals compare released tag:branch=new-bot --by language --out cmp/
  chatbot-evals release 2b818e28b1c0458eb33b7e35fb30d12c      # the released bot's run
  chatbot-evals gate "pr-142#mybot" --out gate-report         # vs the newest released run
  chatbot-evals review queue RUN --size 60 --out review.db   # then: review serve review.db

results: mlflow ui --backend-store-uri sqlite:///runs/mlflow.db   (then open http://127.0.0.1:5000)
         or a team's server: tracking=server tracking.uri=http://host:5000 (docs/tracking_server.md)
"""


def open_hint(uri: str) -> str:
    """How to look at the runs: a tracking server is already serving its UI; a local store needs one started."""
    if uri.lower().startswith(("http://", "https://")):
        return f"open {uri}"
    return f"mlflow ui --backend-store-uri {uri}"


def _stderr_console() -> Console:
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:  # logs and CI: rich's 80-column default would wrap every interval
        console = Console(stderr=True, width=100)
    return console


def _fail(message: object) -> None:
    """A user's mistake: the message alone, unwrapped, so it can be read and grepped."""
    print(f"error: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    try:
        return _command(list(sys.argv[1:] if argv is None else argv))
    finally:
        # A run leaves ~400,000 objects behind; the interpreter's final collections would walk them
        # all for seconds after the work is done. Frozen objects are skipped (the OS frees the memory).
        gc.freeze()


def _command(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "run":
        return _run(rest)
    if command == "validate":
        return _validate(rest)
    if command == "agree":
        return _agree(rest)
    if command in COMMANDS:
        return _subcommand(command, rest)
    _fail(f"unknown command '{command}' (use run, validate, agree, compare, gate, release or review; "
          "see chatbot-evals --help)")
    return 2


def _subcommand(command: str, rest: list[str]) -> int:
    import importlib

    from evals.errors import UserError

    try:
        return int(importlib.import_module(f"evals.commands.{command}").main(rest))
    except UserError as exc:
        _fail(exc)
        return exc.exit_code


def _validate(rest: list[str]) -> int:
    from evals.load import DatasetError, build_cases, load_conversations

    if len(rest) != 1 or rest[0].startswith("-"):
        print("usage: chatbot-evals validate FILE\n\nReports every malformed row of a dataset file.")
        return 0 if rest and rest[0] in ("-h", "--help") else 2
    try:
        loaded = load_conversations(rest[0], on_error="skip")
    except DatasetError as exc:
        _fail(exc)
        return 2
    for problem in loaded.skipped:
        _fail(problem)
    cases = build_cases(loaded.conversations)
    positives = sum(bool(c.reference.should_escalate) for c in cases)
    print(f"{rest[0]}: {len(loaded.conversations)} valid conversations, {len(cases)} decision points "
          f"({positives} should escalate), {len(loaded.skipped)} malformed rows")
    return 1 if loaded.skipped else 0


def _run(rest: list[str]) -> int:
    # Set-up imports hydra, mlflow, pandas and the rest: ~250,000 objects that live until exit. Each
    # full collection while they pile up walks them all (about 1 s a run); so collect nothing until
    # they are in, then freeze them out of every later collection (`job`).
    gc.disable()
    try:
        return _run_job(rest)
    finally:
        gc.enable()


def _run_job(rest: list[str]) -> int:
    from unittest.mock import patch

    import hydra
    import yaml
    from hydra.errors import HydraException, InstantiationException
    from omegaconf import DictConfig

    from evals import signals
    from evals.errors import UserError, yaml_problem

    if (problem := _config_dir_problem(rest)) is not None:
        _fail(problem)
        return 2
    register_resolvers()
    if "--help" in rest or "-h" in rest:
        if (text := _run_help(rest)) is not None:
            print(text)
            return 0
    # `target: my_bots:answer` in a user's config names a module of the folder they run from,
    # as `python -m` would find it; the console script alone puts only its own folder on sys.path
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())

    @hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
    def job(cfg: DictConfig) -> None:
        from evals import settings

        try:
            settings.check(cfg, settings.job_config_folders())  # before the experiment's heavy imports
            from evals import experiment

            gc.freeze()
            gc.enable()
            _err = _stderr_console()
            result = experiment.run(cfg, _err)
        except (UserError, InstantiationException) as exc:
            # Hydra wraps a component's own UserError in three lines; the user needs its one line
            cause = exc.__cause__ if isinstance(exc.__cause__, UserError) else exc
            _fail(cause)
            _drop_if_empty(Path(cfg.output_dir))
            sys.exit(getattr(cause, "exit_code", 2))
        _err.print(
            f"\nMLflow run {result.parent_run_id} ({len(result.variant_run_ids)} variant runs); "
            f"report in {result.report_dir}; results folder {result.report_dir / 'results'} "
            "(read it with evals.EvalResult.load, see docs/results.md)\n"
            f"open the results: {open_hint(cfg.tracking.uri)}"
        )

    sys.argv = ["chatbot-evals run", *rest]
    # Hydra prints its own errors (a bad override, an unknown option) over several lines and exits 1;
    # with HYDRA_FULL_ERROR it raises them instead, and they become one line here, exit 2.
    try:
        with signals.sigterm_unwinds(), patch.dict(os.environ, HYDRA_FULL_ERROR="1"):
            job()
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: runs are closed as KILLED; one line, no traceback
        return signals.report(exc)
    except HydraException as exc:
        _fail(_one_line(exc, rest))
        return 2
    except yaml.YAMLError as exc:  # a config file (the user's own, from --config-dir) that is not YAML
        mark = getattr(exc, "problem_mark", None)
        _fail(f"{mark.name if mark else 'a config file'}: not valid YAML ({yaml_problem(exc)}); fix that config file")
        return 2
    return 0


def _drop_if_empty(folder: Path) -> None:
    """A run stopped by a mistake before it wrote anything leaves no folder behind: Hydra made it for the
    job, with nothing in it but an empty log."""
    import shutil

    if folder.is_dir() and all(p.suffix == ".log" and p.stat().st_size == 0 for p in folder.iterdir()):
        shutil.rmtree(folder)
        if folder.parent.is_dir() and not any(folder.parent.iterdir()):
            folder.parent.rmdir()  # the day's folder, when this was its only run


def _one_line(exc: BaseException, rest: list[str]) -> str:
    """Hydra's report of a bad override or option, with its reason and the allowed options, in one line."""
    from hydra.errors import MissingConfigException
    from omegaconf.errors import OmegaConfBaseException

    lines = [line.strip() for line in str(exc).split("\nConfig search path")[0].split("\nAvailable options")[0]
             .splitlines() if line.strip()]
    text = lines[0].rstrip(".")
    if isinstance(exc.__cause__, OmegaConfBaseException):
        text += f": {str(exc.__cause__).splitlines()[0]}"
    text += f" ({' '.join(lines[1:])})" if lines[1:] else ""
    missing = getattr(exc, "missing_cfg_file", None) if isinstance(exc, MissingConfigException) else None
    if missing and "/" in missing:
        group = missing.rsplit("/", 1)[0]
        text += f"; allowed in {group}: {', '.join(options(_config_folders(rest), group)) or 'none'}"
    return text


def _config_folders(rest: list[str]) -> list[Path]:
    """The shipped config folder and the user's own (`--config-dir DIR`)."""
    folders, args = [CONFIG_DIR], iter(rest)
    for arg in args:
        flag, equals, value = arg.partition("=")
        if flag in ("--config-dir", "-cd"):
            folders.append(Path(value if equals else next(args, "")).resolve())
    return folders


def _config_dir_problem(rest: list[str]) -> str | None:
    """A user config folder (`--config-dir DIR`, Hydra's own flag) that is not there: one line, not Hydra's report."""
    for i, arg in enumerate(rest):
        flag, equals, value = arg.partition("=")
        if flag not in ("--config-dir", "-cd"):
            continue
        if not equals:
            value = rest[i + 1] if i + 1 < len(rest) else ""
        if not value:
            return f"{flag}: give a folder of your own configs, e.g. {flag} ./my_conf"
        if not os.path.isdir(value):
            return f"{flag} {value}: no such folder (it adds your own configs, e.g. my_conf/variant/mybot.yaml)"
    return None


def _run_help(rest: list[str]) -> str | None:
    """`run --help` exactly as Hydra writes it, from conf/hydra/help/evals.yaml, in a third of the time.

    Hydra's own help copies its whole config repository once per config group, hydra's included
    (0.4 s of a 0.9 s answer). Here the groups are read from the config folders directly; with any
    flag or override this does not handle, None, and Hydra answers instead.
    """
    import string

    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf, flag_override

    folders, overrides = _config_folders(rest), []
    args = iter(rest)
    for arg in args:
        flag, equals, _ = arg.partition("=")
        if flag in ("--config-dir", "-cd"):
            if not equals:
                next(args, None)  # the folder, read by _config_folders
        elif arg.startswith("hydra.") or arg.startswith("-") and arg not in ("-h", "--help"):
            return None
        elif arg not in ("-h", "--help"):
            overrides.append(arg)
    if len(folders) > 1:
        overrides.append("hydra.searchpath=[" + ",".join(f"file://{f}" for f in folders[1:]) + "]")
    groups: dict[str, set[str]] = {}
    for folder in folders:
        for path in folder.rglob("*.yaml"):
            group = path.parent.relative_to(folder).as_posix()
            if group != "." and group.split("/")[0] != "hydra":
                groups.setdefault(group, set()).add(path.stem)
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3", job_name="cli"):
            cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
    except Exception:  # a bad override: Hydra reports it in its own words
        return None
    template = cfg.hydra.help.template
    with flag_override(cfg, ["struct", "readonly"], [False, False]):  # as Hydra shows the job's config
        del cfg["hydra"]
    return string.Template(template).safe_substitute(
        APP_CONFIG_GROUPS="".join(f"{g}: {', '.join(sorted(o))}\n" for g, o in sorted(groups.items())),
        CONFIG=OmegaConf.to_yaml(cfg),
    )


# --- agree: scorers against human labels -----------------------------------------------------

AGREE_DESCRIPTION = """\
How far each scorer of an evaluated run agrees with human labels: Cohen's kappa against the
reviewers' consensus (quadratic-weighted for 1-5, unweighted for escalation), Krippendorff's
alpha with and without the scorer, Spearman's rho, exact and within-one agreement, each with a
bootstrap 95% CI and n, and a confusion table. Logged as one MLflow run named `agreement` in the
evaluated run's experiment. Scorers named empathy/judge_empathy, accuracy/judge_accuracy and
escalation/judge_escalation are compared with that criterion; --map changes it. Offline scores
in [0, 1] are put on the 1-5 scale as round(1 + 4 * value). Details: docs/agreement.md.

human labels, """

AGREE_EPILOG = """\
exit codes: 0 done; 1 a --require'd scorer falls short; 2 bad labels, unknown run, no overlap.

examples:
  chatbot-evals agree --labels labels.jsonl --run 2b818e28b1c0458eb33b7e35fb30d12c
  chatbot-evals agree --labels labels.csv --run RUN_ID --map my_judge=empathy \\
      --require judge_empathy=0.6 --require judge_escalation=0.7
"""


def _agree_parser():
    import argparse

    from evals.labels import LABEL_FORMAT

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):  # one line, like every other user mistake
            _fail(f"{message} (see chatbot-evals agree --help)")
            sys.exit(2)

    def formatter(prog: str) -> argparse.HelpFormatter:
        return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30, width=100)

    parser = Parser(prog="chatbot-evals agree", formatter_class=formatter,
                    description=AGREE_DESCRIPTION + LABEL_FORMAT,
                    epilog=AGREE_EPILOG)
    parser.add_argument("--labels", required=True, metavar="FILE",
                        help="human labels, .jsonl or .csv (format above)")
    parser.add_argument("--run", required=True, metavar="PARENT_RUN_ID",
                        help="the evaluated run: the id `chatbot-evals run` printed")
    parser.add_argument("--tracking-uri", default="sqlite:///runs/mlflow.db", metavar="URI",
                        help="MLflow store holding the run (default: %(default)s)")
    parser.add_argument("--map", action="append", default=[], metavar="SCORER=CRITERION",
                        help="compare SCORER with CRITERION (empathy, accuracy, escalation); "
                             "repeatable")
    parser.add_argument("--require", action="append", default=[], metavar="SCORER=MIN_KAPPA",
                        help="trust SCORER only if its kappa >= MIN_KAPPA, else exit 1; repeatable")
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                        help="resamples of replies for the CIs; 0 = none (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: %(default)s)")
    return parser


def _agree(rest: list[str]) -> int:
    import tempfile
    from pathlib import Path

    args = _agree_parser().parse_args(rest)  # --help and usage errors before the heavy imports

    from rich.console import Console

    from evals import agreement, agreement_report, tracking
    from evals import labels as human_labels
    from evals.errors import UserError

    out = Console(width=100, highlight=False)
    try:
        if args.bootstrap < 0:
            raise UserError(f"--bootstrap {args.bootstrap}: the number of resamples is 0 or more")
        labels = human_labels.load_labels(args.labels)
        mapping = agreement.parse_pairs(args.map, "--map")
        required = agreement.parse_requirements(args.require)
        experiment_id, evaluated = tracking.load_results(args.tracking_uri, args.run)
        result = agreement.run_agreement(labels, evaluated, mapping, n_boot=args.bootstrap,
                                         seed=args.seed)
        verdicts = agreement.check_requirements(result, required)
    except UserError as exc:
        _fail(exc)
        return 2
    out.print(_agreement_table(result))
    for (scorer, criterion), group in result.left_out.groupby(["scorer", "criterion"], sort=False):
        gone = [f"{r.replies} {r.reason.replace('_', ' ')}" for r in group.itertuples() if r.replies]
        labelled = result.labelled[(scorer, criterion)]
        print(f"{scorer} vs {criterion}: {labelled - int(group.replies.sum())} of {labelled} "
              f"labelled replies compared" + (f"; left out: {', '.join(gone)}" if gone else ""))
    for note in result.notes:
        print(f"note: {note}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = agreement_report.write_files(result, Path(tmp), labels, args.run, verdicts)
        run_id = tracking.log_agreement(args.tracking_uri, experiment_id,
                                        agreement_report.tags_of(result, labels, args.run, verdicts),
                                        agreement_report.metrics_of(result), folder)
    print(f"agreement run {run_id} (of evaluated run {args.run})")
    for verdict in verdicts:
        if verdict.trusted:
            print(f"trusted: {verdict}")
        else:
            print(f"not trusted: {verdict}", file=sys.stderr)
    return 0 if all(v.trusted for v in verdicts) else 1


def _agreement_table(result):
    from rich import box
    from rich.table import Table

    def cell(scorer: str, criterion: str, statistic: str, ci: bool = False) -> str:
        row = result.table[(result.table.scorer == scorer) & (result.table.criterion == criterion)
                           & (result.table.statistic == statistic)]
        if row.empty:
            return "-"
        r = row.iloc[0]
        if r.value != r.value:
            return "n/a"
        text = f"{r.value:.2f}"
        if ci and r.ci_low == r.ci_low:
            text += f" [{r.ci_low:.2f}, {r.ci_high:.2f}]"
        return text

    table = Table(title="Agreement with human labels (kappa with 95% CI; full CIs in agreement.md)",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in (("scorer", "left"), ("criterion", "left"), ("n", "right"),
                          ("kappa [95% CI]", "right"), ("exact", "right"), ("±1", "right"),
                          ("rho", "right"), ("alpha", "right"), ("α humans", "right")):
        table.add_column(name, justify=justify)
    for scorer, criterion in result.confusion:
        n = int(result.confusion[(scorer, criterion)].to_numpy().sum())
        table.add_row(scorer, criterion, str(n), cell(scorer, criterion, "kappa", ci=True),
                      *(cell(scorer, criterion, s) for s in ("exact", "within_one", "spearman",
                                                             "alpha", "alpha_humans")))
    return table


if __name__ == "__main__":
    sys.exit(main())
