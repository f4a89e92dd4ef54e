"""`chatbot-evals review serve QUEUE [--host 127.0.0.1] [--port 8765]`: the labelling page on this machine."""

from __future__ import annotations

import argparse
import ipaddress
import socket

from evals.commands.options import command_parser, parse
from evals.errors import UserError

DESCRIPTION = """\
Start the labelling page for a queue (made by `review queue`). Reviewers open the address it prints and
log in with the token `review reviewer` printed for them; the queue's owner also sees agreement among
reviewers, disputes to adjudicate and the scorers against people. Every answer is written to the queue
file as it is given, so stopping the server (Ctrl-C) or a crash loses no submitted label.

The page is plain http, meant for this machine (127.0.0.1). To let colleagues on your network reach it,
pass --host 0.0.0.0 only on a network you trust, or put it behind an https proxy: tokens and
conversations would otherwise travel unencrypted.
"""

EPILOG = """\
examples:
  chatbot-evals review serve review.db
  chatbot-evals review serve review.db --port 9000
"""


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("review serve", DESCRIPTION, EPILOG)
    parser.add_argument("queue", metavar="QUEUE", help="the queue file (review queue --out)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: %(default)s)")
    return parser


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(args: list[str]) -> int:
    options = parse(_parser(), args)
    if options is None:
        return 0
    if not 0 < options.port < 65536:
        raise UserError(f"--port {options.port}: use 1-65535")

    import uvicorn

    from evals.review.app import create_app
    from evals.review.store import Store

    with Store(options.queue) as store:  # a missing or foreign file is a one-line error before serving
        items, reviewers = len(store.items()), store.reviewers()
        name = store.meta.name
    listening = bound_socket(options.host, options.port)  # before the address is printed as the page's
    app = create_app(options.queue)
    shown = f"[{options.host}]" if ":" in options.host else options.host
    print(f"Labelling queue '{name}' ({items} items) at http://{shown}:{options.port}/")
    if reviewers:
        print(f"Reviewers ({', '.join(r.name for r in reviewers)}) log in with the token "
              "`chatbot-evals review reviewer` printed for them. Ctrl-C stops the server; labels are already saved.")
    else:
        print(f"No reviewer can log in yet: add one with `chatbot-evals review reviewer {options.queue} NAME`.")
    if not is_loopback(options.host):
        print(f"warning: listening on {options.host}, not only this machine: plain http, so tokens and "
              "conversations travel unencrypted; use a trusted network or an https proxy.")
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listening])
    return 0


def bound_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound here: a port in use is one line saying so, not uvicorn's log and exit 3."""
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart at once
    try:
        listening.bind((host, port))
    except OSError as exc:
        listening.close()
        raise UserError(f"--host {host} --port {port}: cannot listen there ({exc.strerror}); another server may "
                        "have it: choose another --port") from None
    return listening
