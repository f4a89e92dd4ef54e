"""HTTP clients log one line per request at INFO ("HTTP Request: POST ..."): 10,000 of them drown the
terminal and the run log. They are demoted to DEBUG, shown only when DEBUG is enabled for that logger
(e.g. `hydra.verbose=httpx2`)."""

from __future__ import annotations

import logging

HTTP_LOGGERS = ("httpx2", "httpx", "openai")


class DemoteToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        # Handlers check only their own level: drop the record here unless DEBUG is wanted.
        return record.levelno > logging.DEBUG or logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_http_logs() -> None:
    """Install the demotion on the HTTP clients' loggers (idempotent)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DemoteToDebug) for f in logger.filters):
            logger.addFilter(DemoteToDebug())
