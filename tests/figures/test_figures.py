
import pandas as pd
import pytest

from helpers import TINY_ANALYSIS
from neurosage.analyses.config_loading import load_config
from neurosage.analyses.predictability import PredictabilityConfig
from neurosage.analyses.predictability import run as run_predictability
from neurosage.cli import main
from neurosage.figures.published import TABLES, load_published


def test_published_tables_hold_the_paper_values():
    t4 = load_published("table4").set_index("network")
    assert t4.loc["SAGENet-neuro", "top1_error"] == 32.54 and t4.loc["P-imagenet", "top1_error"] == 34.4
    t1 = load_published("table1")
    row = t1[(t1.algorithm == "TPE") & (t1.space == "20 layer") & (t1.method == "P+TG")].iloc[0]
    assert (row.mean_error, row.sd_error) == (33.0, 2.4)
    assert load_published("table3").set_index("network").loc["NASNet-A", "params_M"] == 5.3
    assert set(TABLES) == {"table1", "table2", "table3", "table4"}
    with pytest.raises(KeyError):
        load_published("table9")


def test_figures_command_regenerates_from_result_files_only(tmp_path, tiny_fmnist, capsys):
    assert main(["figures", str(tmp_path)]) == 2  # nothing yet
    config = load_config(PredictabilityConfig, data=str(tiny_fmnist), n_architectures=4, checkpoints=(2, 3), mature_steps=4, n_bootstrap=20,
                         repeat_mature=3, **TINY_ANALYSIS)
    run_predictability(tmp_path, config)
    # a fake search-comparison result written by hand: figures read only files
    curves = pd.DataFrame({"algorithm": ["random"] * 2 + ["rl"] * 4, "space": "layers-10", "premature": "2 steps",
                           "method": ["Random", "Random", "P", "P", "P+TG", "P+TG"], "seed": 0, "n_samples": [1, 2] * 3,
                           "cost_examples": [10, 20] * 3, "best_mature_error": [0.6, 0.5, 0.5, 0.4, 0.5, 0.3]})
    (tmp_path / "search_comparison").mkdir()
    curves.to_csv(tmp_path / "search_comparison" / "curves.csv", index=False)
    pd.DataFrame({"algorithm": ["random", "rl", "rl"], "space": "layers-10", "premature": "2 steps", "method": ["Random", "P", "P+TG"],
                  "mean": [0.5, 0.4, 0.3], "std": [0.01, 0.02, 0.03], "count": 3, "ci_lo": [0.47, 0.35, 0.22], "ci_hi": [0.53, 0.45, 0.38]},
                 ).to_csv(tmp_path / "search_comparison" / "summary.csv", index=False)
    assert main(["figures", str(tmp_path)]) == 0
    out = tmp_path / "figures"
    for name in ("fig2_alpha", "fig3_predictability", "fig4_search", "predictability_pool"):
        assert (out / f"{name}.png").stat().st_size > 5000 and (out / f"{name}.pdf").exists()
    table1 = (out / "table1_this_run.md").read_text()  # the published layout: rows of methods, a column per algorithm/space/budget
    assert "| RL, layers-10, 2 steps" in table1 and "| P+TG - best error (%)   | 30.0±3.0" in table1
    assert "| improvement (%)         | 10.0" in table1 and "| Random - best error (%) | 50.0±1.0" in table1
    assert "22.00" in (out / "table1_this_run_ci.md").read_text()  # the 95% interval, in %
    tex = (out / "table1_paper.tex").read_text()
    assert "\\begin{table}" in tex
    assert "best error (\\%)" in tex and "38.3$\\pm$1.1" in tex and "\u00b1" not in tex  # "%" unescaped would start a LaTeX comment


def test_latex_escape_covers_specials():
    from neurosage.figures.output import latex_escape

    assert latex_escape("50% a_b & {c} #1 $x ± y") == r"50\% a\_b \& \{c\} \#1 \$x $\pm$ y"


def test_analyze_command(tmp_path, tiny_fmnist, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("budget = 2\npremature-steps = 2\nrerank-steps = 2\nfinal-steps = 2\ntop-k = 1\nstartup-trials = 1\n"
                   "n-train = 100\nn-val = 40\nn-stimuli = 20\nn-blocks = 2\nfilters = 4\n")
    assert main(["analyze", "cell_search", "--run-dir", str(tmp_path / "run"), "--config", str(cfg), "--data", str(tiny_fmnist)]) == 0
    assert (tmp_path / "run" / "cell_search" / "table_cells.csv").exists()


def test_figures_says_what_it_could_not_draw_and_why(tmp_path, capsys):
    from neurosage.analyses.results import SEARCH_SUMMARY, write_table
    from neurosage.figures import FIGURES, make_all

    write_table(tmp_path, SEARCH_SUMMARY, pd.DataFrame({"algorithm": ["tpe"], "space": ["pnas"], "premature": ["2 steps"], "method": ["P"],
                                                        "mean": [0.4], "std": [0.1], "count": [2], "ci_lo": [0.0], "ci_hi": [1.0]}))
    drawn = make_all(tmp_path)
    assert list(drawn.written) == ["table1"]
    assert set(drawn.skipped) == set(FIGURES.names()) - {"table1"}
    assert "needs search_comparison/curves.csv (run 'neurosage analyze search_comparison" in drawn.skipped["fig4_search"]
    assert main(["figures", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "not drawn: fig2_alpha: needs predictability/correlations.csv" in out and "table1: " in out


def test_figures_of_a_folder_that_is_no_run_leave_nothing_behind(tmp_path, capsys):
    """Round 6 #84: a data folder got an empty figures/ and the advice to run an analysis into it."""
    from neurosage.cli import main

    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"x")
    assert main(["figures", str(tmp_path)]) == 2
    assert "is not a run folder (no run.json, no results)" in capsys.readouterr().err and not (tmp_path / "figures").exists()
