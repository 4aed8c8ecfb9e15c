import numpy as np
import pandas as pd
import pytest

from helpers import write_brainio_netcdf
from neurosage.core.errors import DataFormatError
from neurosage.data_adapters.generic import load_assembly_file, load_npy_csv
from neurosage.data_adapters.registry import load_neural


@pytest.fixture
def npy_csv(tmp_path, rng):
    values = rng.normal(size=(6, 3))
    np.save(tmp_path / "responses.npy", values)
    pd.DataFrame({"stimulus_id": ["a", "b", "c"] * 2, "repetition": [0] * 3 + [1] * 3}).to_csv(tmp_path / "stimuli.csv", index=False)
    pd.DataFrame({"neuroid_id": ["n0", "n1", "n2"], "region": ["V1", "V1", "V2"]}).to_csv(tmp_path / "neuroids.csv", index=False)
    return tmp_path, values


def test_npy_csv_pair(npy_csv):
    root, values = npy_csv
    a = load_neural("npy-csv", responses=root / "responses.npy", stimuli=root / "stimuli.csv", neuroids=root / "neuroids.csv")
    assert a.sizes == {"presentation": 3, "neuroid": 3}
    np.testing.assert_allclose(a.values[1], (values[1] + values[4]) / 2)


def test_npy_csv_wrong_shape_and_missing_column(npy_csv):
    root, values = npy_csv
    np.save(root / "bad.npy", values[:, :2])
    with pytest.raises(DataFormatError, match="bad.npy: field 'shape'.*rows of neuroids.csv"):
        load_npy_csv(root / "bad.npy", root / "stimuli.csv", root / "neuroids.csv")
    pd.DataFrame({"neuroid_id": ["n0", "n1", "n2"]}).to_csv(root / "noregion.csv", index=False)
    with pytest.raises(DataFormatError, match="noregion.csv: field 'region'"):
        load_npy_csv(root / "responses.npy", root / "stimuli.csv", root / "noregion.csv")


def test_npy_csv_nan_handling(npy_csv):
    root, values = npy_csv
    values = values.copy()
    values[0, 0] = np.nan
    np.save(root / "nan.npy", values)
    a = load_npy_csv(root / "nan.npy", root / "stimuli.csv", root / "neuroids.csv")
    assert a.values[0, 0] == pytest.approx(values[3, 0])
    with pytest.raises(DataFormatError, match="1 NaN value"):
        load_npy_csv(root / "nan.npy", root / "stimuli.csv", root / "neuroids.csv", average=False)


@pytest.mark.parametrize("suffix", ["nc", "h5"])
def test_convention_following_file(tmp_path, suffix):
    path, _, _ = write_brainio_netcdf(tmp_path / f"a.{suffix}")
    a = load_assembly_file(path)
    assert a.dims == ("presentation", "neuroid", "time_bin") and a.sizes["presentation"] == 8
