from neurosage.cli import main


def test_help_lists_commands(capsys):
    assert main([]) == 0
    assert "datasets" in capsys.readouterr().out


def test_datasets_lists_needs(capsys):
    assert main(["datasets", "Majaj*"]) == 0
    out = capsys.readouterr().out
    assert "MajajHong2015" in out and "needs:" in out and "cite:" in out
    assert main(["datasets", "nothing-like-this"]) == 1
