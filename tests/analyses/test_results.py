import pandas as pd
import pytest

from neurosage.analyses.results import SEARCH_SUMMARY, TABLE4, ResultMissing, read_table, write_table


def test_write_checks_the_contracted_columns(tmp_path):
    row = {"algorithm": ["rl"], "space": ["layers-10"], "premature": ["2 steps"], "method": ["P"], "mean": [0.1], "std": [0.0], "ci_lo": [0.1],
           "ci_hi": [0.1]}
    with pytest.raises(ValueError, match=r"lacks the contracted column\(s\) \['count'\]"):
        write_table(tmp_path, SEARCH_SUMMARY, pd.DataFrame(row))
    path = write_table(tmp_path, SEARCH_SUMMARY, pd.DataFrame({**row, "count": [2]}))
    assert path == tmp_path / "search_comparison" / "summary.csv"
    assert read_table(tmp_path, SEARCH_SUMMARY).loc[0, "count"] == 2


def test_read_names_the_missing_file_and_the_command(tmp_path):
    with pytest.raises(ResultMissing,
                       match=r"neuro_search/table4.csv: the file is missing; fix: run .neurosage analyze neuro_search --run-dir RUN. first"):
        read_table(tmp_path, TABLE4)
    (tmp_path / "neuro_search").mkdir()
    pd.DataFrame({"network": ["x"]}).to_csv(tmp_path / "neuro_search" / "table4.csv", index=False)
    with pytest.raises(ResultMissing, match="lacks column"):
        read_table(tmp_path, TABLE4)
