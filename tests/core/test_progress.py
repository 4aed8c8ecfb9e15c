import io
import sys

from neurosage.core.progress import on_terminal, progress_bar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bars_show_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not on_terminal() and progress_bar(total=3, desc="x").disable
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert on_terminal() and not progress_bar(total=3, desc="x").disable
    assert progress_bar(total=3, desc="x", enabled=False).disable
