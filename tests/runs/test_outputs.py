"""Output folders say which command wrote them; one command's files never land among another's."""

import pytest

from neurosage.core.errors import ConfigError
from neurosage.runs.outputs import OUTPUT_MARKER, claim_output_folder, output_folder_owner


def _csv(name: str) -> bool:
    return name.endswith(".csv")


def test_a_folder_is_claimed_once_and_refused_to_another_command(tmp_path):
    out = tmp_path / "out"
    assert claim_output_folder(out, "neurosage rdm", _csv, create=False) == out and not out.exists()  # checked only
    claim_output_folder(out, "neurosage rdm", _csv)
    assert output_folder_owner(out) == "neurosage rdm" and (out / OUTPUT_MARKER).is_file()
    (out / "similarity.csv").write_text("x\n")
    claim_output_folder(out, "neurosage rdm", _csv)  # the same command again: its own files
    with pytest.raises(ConfigError, match=r"--out holds the outputs of neurosage rdm, and neurosage figures would write its files among them"):
        claim_output_folder(out, "neurosage figures", lambda name: True)  # round 4 #28: figures wrote into an rdm folder


def test_foreign_files_and_a_file_are_refused_with_the_fix(tmp_path):
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "scores.csv").write_text("x\n")
    claim_output_folder(legacy, "neurosage bench", _csv)  # written before the marker existed: known by its file names
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("x")
    with pytest.raises(ConfigError, match=r"holds files that neurosage bench does not write \(e.g. \['thesis.docx'\]\).*fix: give"):
        claim_output_folder(tmp_path / "mine", "neurosage bench", _csv)
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="--out is a file"):
        claim_output_folder(tmp_path / "f", "neurosage bench", _csv)


def test_another_run_of_the_command_with_other_inputs_is_refused(tmp_path):
    """Round 5 #25: a second ``rdm`` with another teacher replaced the first one's outputs without a word."""
    claim_output_folder(tmp_path / "o", "neurosage rdm", _csv, identity="net against ['pixels'] on 20 stimuli")
    claim_output_folder(tmp_path / "o", "neurosage rdm", _csv, identity="net against ['pixels'] on 20 stimuli")  # the same again
    with pytest.raises(ConfigError, match=r"holds the outputs of neurosage rdm for net against \['pixels'\].*this run \(net against \['V4'\]"):
        claim_output_folder(tmp_path / "o", "neurosage rdm", _csv, identity="net against ['V4'] on 20 stimuli")
