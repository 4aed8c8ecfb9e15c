"""``neurosage rdm --out``: the RDMs, tables and plots it writes hold exactly what it computed and printed."""

from __future__ import annotations

import contextlib
import io
import json
import re
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import neurosage.teachers.scoring
from neurosage.cli import main
from neurosage.figures.output import new_figure
from neurosage.figures.rdm_plots import classical_mds, labelled_layers, rank_percentiles, rdm_mds, short_title
from neurosage.figures.similarity_heatmap import draw_similarity
from neurosage.rsa.compare import compare_rdms
from neurosage.rsa.interop import to_rsatoolbox
from neurosage.rsa.outputs import SCORE_COLUMNS, write_rdms, write_score_files
from neurosage.rsa.rdm import compute_rdm, stack_rdms
from neurosage.rsa.score import teacher_scores

FILES = ("teacher_rdms.nc", "model_rdms.nc", "similarity.csv", "scores.csv", "summary.json",
         "similarity.png", "similarity.pdf", "rdms.png", "rdms.pdf", "mds.png", "mds.pdf", "profile.png", "profile.pdf", "sorted_rdms.png",
         "sorted_rdms.pdf", "stimulus_mds.png", "stimulus_mds.pdf")


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_fmnist):
    """One ``rdm`` run with a simulated teacher (repetitions: ceilings) and 50 bootstrap samples: its folder, output and return values."""
    out = tmp_path_factory.mktemp("rdm") / "out"
    returned = []
    original = neurosage.teachers.scoring.score_model_rdms

    def spy(*args, **kwargs):
        returned.append(original(*args, **kwargs))
        return returned[-1]

    argv = ["rdm", "cifar_resnet-1", "--layers", "stack1,stack2,stack3", "--teacher", "sim:cifar_resnet-1:V4=stack2,IT=stack3",
            "--data", str(tiny_fmnist), "--n-stimuli", "20", "--bootstrap", "50", "--out", str(out)]
    printed = io.StringIO()
    with mock.patch.object(neurosage.teachers.scoring, "score_model_rdms", spy), contextlib.redirect_stdout(printed):
        assert main(argv) == 0
    scores, model_rdms = returned[0]
    return out, printed.getvalue(), scores, model_rdms


def test_rdm_writes_every_file_and_prints_where(run):
    out, printed, _, _ = run
    for name in FILES:
        assert (out / name).stat().st_size > 100, name
    line = next(line for line in printed.splitlines() if line.startswith("written in"))
    assert line == f"written in {out}: {', '.join(FILES)} (teacher cache in {out / 'cache'})"


def test_saved_rdms_load_convert_and_give_the_similarity_table(run):
    out, _, scores, model_rdms = run
    teacher, model = (xr.load_dataarray(out / name) for name in ("teacher_rdms.nc", "model_rdms.nc"))
    assert teacher.dims == model.dims == ("rdm", "condition_row", "condition_col")
    assert list(teacher.rdm.values) == ["V4", "IT"] and list(model.rdm.values) == ["stack1", "stack2", "stack3"]
    for rdms in (teacher, model):
        assert rdms.attrs["method"] == "correlation" and rdms.attrs["descriptor"] == "stimulus_id"
    xr.testing.assert_identical(model, model_rdms.astype(np.float64))  # what score_model compared, attrs included
    table = pd.read_csv(out / "similarity.csv", index_col=0)
    recomputed = compare_rdms(teacher, model).transpose("rdm_b", "rdm_a").values
    np.testing.assert_allclose(table.values, recomputed, rtol=0, atol=1e-10)
    np.testing.assert_allclose(table.values, scores.similarity.transpose("layer", "endpoint").values, rtol=0, atol=1e-10)
    from rsatoolbox.rdm import RDMs, compare

    a, b = to_rsatoolbox(teacher), to_rsatoolbox(model)
    assert isinstance(a, RDMs) and a.n_rdm == 2 and b.n_rdm == 3 and a.rdm_descriptors["name"] == ["V4", "IT"]
    np.testing.assert_allclose(compare(b, a, method="corr"), table.values, rtol=0, atol=1e-10)


def test_scores_csv_and_summary_hold_the_returned_and_printed_numbers(run):
    out, printed, scores, _ = run
    table = pd.read_csv(out / "scores.csv")
    assert tuple(table.columns) == SCORE_COLUMNS and list(table.endpoint) == ["V4", "IT"]
    similarity = pd.read_csv(out / "similarity.csv", index_col=0)
    for row in table.itertuples():
        assert row.S == scores.per_endpoint[row.endpoint] == similarity[row.endpoint].max()
        assert row.best_layer == scores.best_layer[row.endpoint] == similarity[row.endpoint].idxmax()
        assert (row.S_lo, row.S_hi) == scores.intervals[row.endpoint] and row.S_lo <= row.S <= row.S_hi
        shown = re.search(rf"^{row.endpoint}: best layer (\S+), S = ([\d.]+) \[([\d.]+), ([\d.]+)\]", printed, re.M)
        assert shown[1] == row.best_layer
        np.testing.assert_allclose([float(x) for x in shown.groups()[1:]], [row.S, row.S_lo, row.S_hi], atol=5e-5)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["TG"] == scores.tg and summary["TG"] == pytest.approx(table.S.mean(), abs=1e-15)
    assert (summary["TG_lo"], summary["TG_hi"]) == scores.tg_interval
    assert summary["TG_ceiled"] == pytest.approx(table.S_ceiled.mean(), abs=1e-12)
    shown = re.search(r"^TG = ([\d.]+) \[([\d.]+), ([\d.]+)\]", printed, re.M)
    np.testing.assert_allclose([float(x) for x in shown.groups()], [summary["TG"], summary["TG_lo"], summary["TG_hi"]], atol=5e-5)
    assert {k: summary[k] for k in ("compare", "rdm_method", "n_bootstrap", "n_stimuli", "model", "weights", "layers")} == {
        "compare": "pearson", "rdm_method": "correlation", "n_bootstrap": 50, "n_stimuli": 20, "model": "cifar_resnet-1",
        "weights": "random weights (seed 0)", "layers": ["stack1", "stack2", "stack3"]}


def test_a_teacher_with_repetitions_gets_ceiling_columns(run):
    out, printed, _, _ = run
    table = pd.read_csv(out / "scores.csv")
    assert table[["ceiling", "ceiling_lo", "ceiling_hi", "reliability", "S_ceiled"]].notna().all().all()
    assert (table.ceiling_lo <= table.ceiling).all() and (table.ceiling <= table.ceiling_hi).all()
    assert (table.ceiling_n_splits == 10).all() and np.allclose(table.ceiling, np.sqrt(table.reliability))  # the sqrt convention
    np.testing.assert_allclose(table.S_ceiled, table.S / table.ceiling, rtol=1e-12)
    for row in table.itertuples():
        assert f"noise ceiling {row.ceiling:.3f}" in printed and f"{row.S_ceiled:.3f} of it" in printed
    assert json.loads((out / "summary.json").read_text())["ceiling_convention"] == "sqrt"


def _rdms(names, rng, n=12, decimals=None):
    """A stack of correlation RDMs of random patterns (``decimals``: rounded, so their ranks tie)."""
    ids = [f"s{i}" for i in range(n)]
    rdms = {name: compute_rdm(rng.normal(size=(n, 8)), labels=ids) for name in names}
    stack = stack_rdms(rdms)
    return stack if decimals is None else stack.round(decimals).assign_attrs(stack.attrs)


def test_without_bootstrap_or_ceilings_those_cells_are_empty(tmp_path, rng):
    teacher, model = _rdms(["V4", "IT"], rng), _rdms(["a", "b"], rng)
    scores = teacher_scores(teacher, model)
    write_score_files(tmp_path, teacher, model, scores, {}, model="m", weights="random")
    table = pd.read_csv(tmp_path / "scores.csv")
    assert table.drop(columns=["endpoint", "best_layer", "S"]).isna().all().all() and table.S.notna().all()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["TG_lo"] is None and summary["TG_ceiled"] is None and summary["n_bootstrap"] == 0
    assert summary["n_stimuli"] == 12 and summary["model"] == "m"


def test_netcdf_keeps_attrs_netcdf_cannot_store_as_text(tmp_path, rng):
    rdms = _rdms(["a", "b"], rng).assign_attrs(flag=True, options={"k": 1}, nothing=None)
    back = xr.load_dataarray(write_rdms(rdms, tmp_path / "r.nc"))
    assert back.attrs["flag"] == 1 and json.loads(back.attrs["options"]) == {"k": 1} and "nothing" not in back.attrs
    np.testing.assert_array_equal(back.values, rdms.values)


def test_rank_percentiles_are_rsatoolbox_rank_transform(rng):
    from rsatoolbox.rdm import rank_transform

    rdms = _rdms(["a", "b", "c"], rng, decimals=1)  # many ties: averaged as rsatoolbox does
    ranks = rank_percentiles(rdms)
    n_pairs = 12 * 11 // 2
    expected = rank_transform(to_rsatoolbox(rdms)).get_matrices() / n_pairs * 100
    np.testing.assert_allclose(ranks.values, expected, rtol=0, atol=1e-12)
    assert ranks.dims == rdms.dims and ranks.attrs["method"] == "correlation"
    np.testing.assert_allclose(rank_percentiles(rdms.isel(rdm=0, drop=True)).values, expected[0], atol=1e-12)


def test_heatmap_colours_are_centred_at_zero():
    for values in ([[0.3, 0.9], [0.5, 0.7]], [[-0.2, 0.6], [0.1, np.nan]]):
        sim = xr.DataArray(np.array(values), dims=("endpoint", "layer"), coords={"endpoint": ["V4", "IT"], "layer": ["l1", "l2"]})
        image = draw_similarity(new_figure().subplots(), sim)
        assert image.get_cmap().name == "RdBu_r" and image.norm.vcenter == 0
        assert image.norm.vmin == -image.norm.vmax == -np.nanmax(np.abs(values))


def test_classical_mds_recovers_a_plane_and_rdm_mds_places_copies_together(rng):
    points = rng.normal(size=(6, 2))
    distance = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    coords = classical_mds(distance)
    np.testing.assert_allclose(np.hypot(*(coords[:, None, :] - coords[None, :, :]).transpose(2, 0, 1)), distance, atol=1e-10)
    teacher, model = _rdms(["V4", "IT"], rng), _rdms(["a", "b", "c"], rng)
    model[1] = teacher[0].values  # layer b's RDM is V4's
    coords = rdm_mds(teacher, model)
    assert coords.shape == (5, 2) and np.allclose(coords[0], coords[3], atol=1e-6)
    np.testing.assert_array_equal(coords, rdm_mds(teacher, model))  # deterministic, signs fixed


def test_titles_and_labels_stay_short():
    assert short_title("cifar_resnet-1", "weights from /tmp/pytest-of-x/pytest-3/test_x0/run/long/w.pt") == "cifar_resnet-1, weights from w.pt"
    assert len(short_title("normal: " + "sep_conv_3x3 <- 0, " * 10, "random weights (seed 0)")) <= 48 + 2 + 23
    assert labelled_layers(5) == [0, 1, 2, 3, 4]
    many = labelled_layers(40)
    assert len(many) == 12 and many[0] == 0 and many[-1] == 39


def test_rdm_command_takes_the_rsa_choices(tmp_path, tiny_fmnist, capsys):
    """--rdm-method crossnobis on a recording with repetitions, --compare-method cka: recorded, no bootstrap by default."""
    out = tmp_path / "out"
    args = ["rdm", "cifar_resnet-1", "--layers", "stack1,stack2", "--teacher", "sim:cifar_resnet-1:V4=stack2,IT=stack3",
            "--data", str(tiny_fmnist), "--n-stimuli", "20", "--out", str(out)]
    assert main(args + ["--rdm-method", "crossnobis", "--compare-method", "cka"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["compare"] == "cka" and summary["rdm_method"] == "crossnobis" and summary["TG_lo"] is None
    assert xr.load_dataarray(out / "model_rdms.nc").attrs["method"] == "sqeuclidean"  # layers have no repetitions
    capsys.readouterr()
    assert main(args + ["--compare-method", "cka"]) == 2  # correlation RDMs have no Gram matrix
    assert "sqeuclidean" in capsys.readouterr().err


def test_rdm_refuses_an_out_folder_holding_other_files(tmp_path, tiny_fmnist, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["rdm", "cifar_resnet-1", "--layers", "stack1", "--teacher", "net:cifar_resnet-1:stack2", "--data", str(tiny_fmnist),
                 "--n-stimuli", "10", "--out", str(out)]) == 2
    assert "holds files that neurosage rdm does not write" in capsys.readouterr().err and (out / "notes.txt").read_text() == "keep me"


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without a GPU")
def test_rdm_on_a_gpu_this_machine_lacks_names_the_device(tmp_path, tiny_fmnist, capsys):
    """Round 5 #30: torch's "Found no NVIDIA driver" with a --help fix."""
    assert main(["rdm", "cifar_resnet-1", "--layers", "stack1", "--teacher", "control:pixels", "--data", str(tiny_fmnist), "--n-stimuli", "10",
                 "--device", "cuda", "--out", str(tmp_path / "o")]) == 2
    assert "field 'device': device 'cuda' was asked for, but this machine has no CUDA GPU" in capsys.readouterr().err
