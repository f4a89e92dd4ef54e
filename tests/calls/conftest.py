import pytest
from call_helpers import KEY


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The key every call-layer test's components read (CALLS_KEY); tests check it never leaks."""
    monkeypatch.setenv("CALLS_KEY", KEY)
    return KEY
