import numpy as np
import pytest
import xarray as xr

from neurosage.assembly import (
    AssemblyError,
    average_repetitions,
    gather_indexes,
    make_assembly,
    regions,
    select_regions,
    select_time,
    validate,
)


def test_make_assembly_builds_brainscore_dims(recording):
    assert recording.dims == ("presentation", "neuroid")
    assert {"stimulus_id", "neuroid_id", "region", "category_name"} <= set(recording.coords)
    assert regions(recording) == ["V4", "IT"]


def test_average_repetitions_matches_groupby_mean(recording):
    averaged = average_repetitions(recording)
    expected = recording.groupby("stimulus_id").mean()
    assert averaged.sizes["presentation"] == 12
    np.testing.assert_allclose(averaged.values, expected.sel(stimulus_id=averaged.stimulus_id.values).values)
    assert "category_name" in averaged.coords and "repetition" not in averaged.coords
    assert list(averaged.stimulus_id.values[:2]) == ["img00", "img01"]
    validate(averaged, unique_stimuli=True)


def test_average_repetitions_ignores_nan(recording):
    raw = recording.copy()
    raw.values[0, 0] = np.nan  # first repetition of img00, neuroid 0
    averaged = average_repetitions(raw)
    assert averaged.values[0, 0] == pytest.approx(np.mean(recording.values[1:3, 0]))


def test_average_repetitions_keeps_all_nan_visible(recording):
    raw = recording.copy()
    raw.values[0:3, 0] = np.nan
    with pytest.raises(AssemblyError, match="1 NaN value"):
        validate(average_repetitions(raw))


def test_validate_reports_missing_stimulus_id_with_fix(recording):
    broken = recording.drop_vars("stimulus_id")
    with pytest.raises(AssemblyError, match=r"missing coord 'stimulus_id'.*assign_coords") as err:
        validate(broken, source="my.nc")
    assert "my.nc" in str(err.value)


def test_validate_reports_wrong_dims():
    da = xr.DataArray(np.zeros((3, 4)), dims=("image", "unit"))
    with pytest.raises(AssemblyError) as err:
        validate(da)
    assert len(err.value.problems) == 3  # two missing dims + the unexpected ones
    assert "rename" in str(err.value)


def test_validate_counts_nans_and_names_neuroids(recording):
    broken = recording.copy()
    broken.values[[1, 2], 5] = np.nan
    broken.values[0, 0] = np.inf
    with pytest.raises(AssemblyError) as err:
        validate(broken)
    text = str(err.value)
    assert "2 NaN value(s) in 1 neuroid(s)" in text and "IT_5" in text
    assert "1 inf value(s)" in text


def test_validate_duplicate_stimuli_after_averaging(recording):
    with pytest.raises(AssemblyError, match="duplicate stimulus_id.*average_repetitions"):
        validate(recording, unique_stimuli=True)


def test_validate_empty_region(recording):
    broken = recording.assign_coords(region=("neuroid", ["V4"] * 9 + [""]))
    with pytest.raises(AssemblyError, match="empty region"):
        validate(broken)


def test_make_assembly_rejects_mismatched_metadata():
    with pytest.raises(AssemblyError, match="stimulus_id"):
        make_assembly(np.zeros((3, 2)), stimulus_id=["a", "b"], region="V4")


def test_select_regions_and_unknown_region(recording):
    parts = select_regions(recording, ["pIT", "aIT"], coord="subregion")
    assert parts["pIT"].sizes["neuroid"] == 3
    with pytest.raises(AssemblyError, match=r"unknown subregion \['cIT'\].*\['V4', 'pIT', 'aIT'\]"):
        select_regions(recording, ["cIT"], coord="subregion")


def test_select_time_averages_bins_inside_window(rng):
    values = rng.normal(size=(4, 2, 3))
    a = make_assembly(values, stimulus_id=list("abcd"), region="IT", time_bins=[(50, 70), (70, 170), (170, 200)])
    out = select_time(a, 70, 170)
    np.testing.assert_allclose(out.values, values[:, :, 1])
    assert "time_bin" not in out.dims
    wide = select_time(a, 50, 200)  # each millisecond once: bins weighted by their 20, 100 and 30 ms
    np.testing.assert_allclose(wide.values, values @ np.array([20, 100, 30]) / 150)
    with pytest.raises(AssemblyError, match="no time bin"):
        select_time(a, 0, 10)


def test_overlapping_bins_weight_each_millisecond_once():
    """An onset transient recorded in 20 ms bins stepped by 10 ms: the window mean is the per-millisecond mean."""
    ms = np.arange(0, 200)
    signal = np.where((ms >= 70) & (ms < 90), 100.0, 10.0)  # a 20 ms onset transient on a baseline
    bins = [(t, t + 20) for t in range(0, 181, 10)]
    means = np.array([signal[s:e].mean() for s, e in bins])
    a = make_assembly(means.reshape(1, 1, -1), stimulus_id=["x"], region="IT", time_bins=bins)
    window = select_time(a, 70, 170)
    assert window.values.item() == pytest.approx(signal[70:170].mean())  # 28.0; averaging all 9 bins as they are gives 25.0
    assert window.values.item() != pytest.approx(means[[s >= 70 and e <= 170 for s, e in bins]].mean())
    with pytest.raises(AssemblyError, match="count some milliseconds twice"):
        select_time(a, 75, 170)  # bins 80-100 ... 150-170 overlap; no back-to-back series spans 80-170
    assert window.attrs["time_window_ms"] == (70.0, 170.0)


def test_gather_indexes_enables_brainscore_style_sel(recording):
    indexed = gather_indexes(recording)
    assert indexed.sel(region="IT").sizes["neuroid"] == 6


def test_a_new_assembly_carries_brainscore_coords_from_creation():
    """image_id and neuroid_num from make_assembly on: a plain to_netcdf is readable by BrainIO without write_assembly."""
    assembly = make_assembly(np.arange(6.0).reshape(3, 2), stimulus_id=["a", "b", "c"], region="V4")
    assert list(assembly.image_id.values) == ["a", "b", "c"] and list(assembly.neuroid_num.values) == [0, 1]


def test_netcdf_attr_writes_arrays_as_the_json_lists_it_promises():
    """Round 12 Y46: an array became the text of its repr ('"[1 2]"'), not JSON."""
    import json

    from neurosage.assembly import netcdf_attr

    assert json.loads(netcdf_attr(np.array([1, 2]))) == [1, 2]
    assert json.loads(netcdf_attr({"a": np.float64(1.5), "b": np.arange(2)})) == {"a": 1.5, "b": [0, 1]}
    assert netcdf_attr(np.True_) == 1 and netcdf_attr("x") == "x"
