"""What a run pays for at start: modules it does not use are not imported."""

import subprocess
import sys


def test_the_openai_client_is_imported_only_when_a_call_is_made() -> None:
    # an offline run checks the judge's schema and may build OpenAI-compatible variants without calling them
    probe = ("import sys, evals.experiment, evals.scorers.judge, evals.variants.openai_chat\n"
             "from evals import schemas\n"
             "schemas._judge_model()\n"
             "print('openai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"
