"""One module per command of `chatbot-evals` beyond `run`: each has `main(args) -> exit code`.

The command line imports a command's module only when that command is asked for, so `--help` and
mistakes answer fast; a `UserError` a command raises is printed as one line (evals/cli.py).
"""

COMMANDS = ("compare", "gate", "release", "review")
