"""Files both ways with Brain-Score (without it: the ``interop`` tests read them in Brain-Score's own venv).

neurosage writes assemblies BrainIO reads (``image_id`` beside ``stimulus_id``, so ``gather_indexes`` keeps the
stimulus id by name; ``layer`` on activations), and reads Brain-Score's activations (``layer``, no ``region``).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from neurosage.assembly import brainio_coords, gather_indexes, make_assembly, write_assembly
from neurosage.core.errors import DataFormatError
from neurosage.data_adapters.generic import load_assembly_file


def test_written_assemblies_carry_image_id_and_keep_stimulus_id_through_gather_indexes(recording, tmp_path):
    path = write_assembly(recording.assign_attrs(note={"a": 1}, missing=None), tmp_path / "recording.nc")
    loaded = xr.load_dataarray(path)
    assert list(loaded["image_id"].values) == list(loaded["stimulus_id"].values) == list(recording["stimulus_id"].values)
    assert {"category_name", "repetition", "subregion"} <= set(loaded.coords)
    assert loaded.attrs == {"note": '{"a": 1}'}
    indexed = gather_indexes(loaded)  # what BrainIO does on reading: one MultiIndex per dim
    assert set(indexed.indexes["presentation"].names) >= {"stimulus_id", "image_id"}
    assert indexed.sel(stimulus_id="img03").sizes["presentation"] == 3
    assert indexed.sel(region="V4").dims == ("presentation", "neuroid")  # neuroid_num keeps a MultiIndex after a region is chosen
    only_id = gather_indexes(loaded.drop_vars(["image_id", "category_name", "repetition"]))
    assert "stimulus_id" not in only_id.coords  # the failure image_id prevents: a dim's only coord becomes its index
    back = load_assembly_file(path, average=False)
    np.testing.assert_array_equal(back.values, recording.values)


def test_activations_are_written_with_their_layer(tmp_path, rng):
    from neurosage.nets.build import build_network
    from neurosage.spaces import get_space
    from neurosage.training.activations import extract_activations

    net = build_network(get_space("pnas", n_blocks=2).sample(0), num_classes=2, in_channels=1, filters=4, n_cells=1)
    activations = extract_activations(net, torch_images(rng), ["cell_0", "cell_1"], stimulus_ids=[f"s{i}" for i in range(5)])
    written = xr.load_dataarray(write_assembly(activations, tmp_path / "activations.nc"))
    assert list(written["layer"].values) == list(written["region"].values) and set(written["layer"].values) == {"cell_0", "cell_1"}
    assert list(written["image_id"].values) == [f"s{i}" for i in range(5)]
    assert "layer" not in brainio_coords(make_assembly(np.ones((3, 2)), stimulus_id=["a", "b", "c"], region="V4")).coords


def torch_images(rng):
    import torch

    return torch.from_numpy(rng.normal(size=(5, 1, 8, 8)).astype(np.float32))


def _brainscore_activations(path, layer="features.2", compress=True):
    """An activations file as Brain-Score's extractor and ``write_netcdf`` leave it: MultiIndexes reset, ``layer``, no ``region``."""
    rng = np.random.default_rng(0)
    n_units = 6
    da = xr.DataArray(
        rng.normal(size=(4, n_units)).astype(np.float32), dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", [f"im{i}" for i in range(4)]), "stimulus_path": ("presentation", [f"/x/im{i}.png" for i in range(4)]),
                "neuroid_num": ("neuroid", np.arange(n_units)), "model": ("neuroid", ["m"] * n_units), "layer": ("neuroid", [layer] * n_units),
                "channel": ("neuroid", np.arange(n_units) // 3), "neuroid_id": ("neuroid", [f"m.{layer}.{i}" for i in range(n_units)])},
    )
    da = da.set_index(presentation=["stimulus_id", "stimulus_path"], neuroid=["neuroid_num", "model", "layer", "channel", "neuroid_id"])
    da = da.reset_index(list(da.indexes))
    if compress:
        da.to_dataset(name="data", promote_attrs=True).to_netcdf(path, encoding={"data": dict(zlib=True, complevel=9)})
    else:
        da.to_netcdf(path)
    return da


@pytest.mark.parametrize("compress", [True, False])
def test_brainscore_activations_are_read_with_the_layer_as_the_region(tmp_path, compress):
    source = _brainscore_activations(tmp_path / "acts.nc", compress=compress)
    loaded = load_assembly_file(tmp_path / "acts.nc", average=False)
    assert set(loaded["region"].values) == {"features.2"}
    np.testing.assert_array_equal(loaded.values, source.values)
    assert load_assembly_file(tmp_path / "acts.nc", regions=["features.2"]).sizes["neuroid"] == 6


def test_an_unreadable_assembly_names_each_problem_and_one_fix(tmp_path):
    source = _brainscore_activations(tmp_path / "acts.nc", compress=False)
    source.drop_vars(["layer", "neuroid_id"]).to_netcdf(tmp_path / "bare.nc")
    with pytest.raises(DataFormatError) as exc:
        load_assembly_file(tmp_path / "bare.nc")
    text = str(exc.value)
    assert text.count("fix:") == 1 and "neuroid_id" in text and "region" in text
