"""A hand-off reader with fixed, obvious cues, so tests of the hand-off rules do not depend on the
phrase patterns of evals.handoff (importable as `fake_reader`; the CLI tests pass it as
`reader=fake_reader:FakeReader`)."""

from __future__ import annotations

from evals.handoff import HandoffReading

CUES = (("handoff", "[transfer]"), ("offer", "[offer]"), ("redirect", "[hotline]"), ("refusal", "[refuse]"))


class FakeReader:
    def classify(self, text: str, language: str | None = None) -> HandoffReading:
        for kind, cue in CUES:
            if cue in text:
                return HandoffReading(kind, cue)  # type: ignore[arg-type]
        return HandoffReading("none")

    def asks_for_human(self, text: str, language: str | None = None) -> str | None:
        return "[human please]" if "[human please]" in text else None

    def answers_offer(self, text: str, language: str | None = None) -> bool | None:
        return True if "[yes]" in text else False if "[no]" in text else None
