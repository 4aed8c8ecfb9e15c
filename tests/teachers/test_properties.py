"""The public teacher functions, fed what a user might pass by mistake: one clear error, or a teacher whose RDMs are
those of the recording (checked against scipy)."""

from __future__ import annotations

import numpy as np
import scipy.spatial.distance
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from neurosage.assembly import make_assembly
from neurosage.data_adapters.imageset import ImageSet
from neurosage.teachers.controls import category_teacher, pixel_teacher
from neurosage.teachers.kinds import teacher_from_spec
from neurosage.teachers.teacher import Teacher, brain_teacher
from properties import BOUNDED, clear_or_correct

mistakes = st.sampled_from(["none", "nan_site", "constant_region", "one_site", "wrong_ceiling", "string_endpoints", "missing_endpoint",
                            "not_an_assembly", "zero_splits", "images_not_recorded", "rdm_method", "two_stimuli"])


def _recording(rng, n_stimuli, sites=(4, 3)):
    values = rng.normal(size=(n_stimuli, sum(sites)))
    regions = [r for r, k in zip(("V4", "IT"), sites) for _ in range(k)]
    return values, regions


def _images(n, labels=None, seed=0):
    rng = np.random.default_rng(seed)
    images = ImageSet(rng.integers(0, 256, size=(n, 1, 6, 6), dtype=np.uint8), np.arange(n) % 3 if labels is None else labels, mean=0.5, std=0.25)
    images.stimulus_ids = [f"s{i}" for i in range(n)]
    return images


@BOUNDED
@given(st.integers(2, 9), mistakes, st.integers(0, 3))
def test_brain_teacher(n_stimuli, mistake, seed):
    rng = np.random.default_rng(seed)
    n_stimuli = 2 if mistake == "two_stimuli" else n_stimuli
    values, regions = _recording(rng, n_stimuli, (1, 3) if mistake == "one_site" else (4, 3))
    if mistake == "nan_site":
        values[0, 0] = np.nan
    if mistake == "constant_region":
        values[:, :4] = 1.0
    ids = [f"s{i}" for i in range(n_stimuli)]
    kwargs = {"ceiling": "sqr"} if mistake == "wrong_ceiling" else {"ceiling_splits": 0} if mistake == "zero_splits" else {}
    kwargs |= {"endpoints": "V4,IT"} if mistake == "string_endpoints" else {"endpoints": ["V4", "pIT"]} if mistake == "missing_endpoint" else {}
    kwargs |= {"rdm_method": "corelation"} if mistake == "rdm_method" else {}
    images = _images(n_stimuli + 2) if mistake == "images_not_recorded" else None

    def call():
        assembly = values if mistake == "not_an_assembly" else make_assembly(values, stimulus_id=ids, region=regions)
        return brain_teacher(assembly, images, **kwargs)

    teacher = clear_or_correct(call)
    if teacher is not None:
        assert n_stimuli >= 3 and mistake in ("none", "nan_site")
        for region in ("V4", "IT"):
            patterns = values[:, [i for i, r in enumerate(regions) if r == region]]
            finite = np.isfinite(patterns).all(axis=0)
            expected = scipy.spatial.distance.squareform(scipy.spatial.distance.pdist(patterns[:, finite] if mistake == "nan_site" else patterns,
                                                                                       "correlation"))
            np.testing.assert_allclose(teacher.rdms.sel(rdm=region).values, expected, atol=1e-9)


@BOUNDED
@given(st.sampled_from([None, "rdms", 3, [[0, 1], [1, 0]], "dataarray_2d", "not_square", "nan", "ok"]), st.booleans())
def test_teacher_from_rdms(rdms_kind, with_images):
    rng = np.random.default_rng(0)
    from neurosage.rsa.rdm import compute_rdms

    good = compute_rdms({"V4": rng.normal(size=(5, 4))}, labels=[f"s{i}" for i in range(5)])
    built = {"dataarray_2d": good.isel(rdm=0), "not_square": good.isel(condition_col=slice(0, 4)), "nan": good.where(good > 0.1), "ok": good}
    rdms = built[rdms_kind] if isinstance(rdms_kind, str) and rdms_kind in built else rdms_kind
    teacher = clear_or_correct(lambda: Teacher(rdms, _images(5) if with_images else None))
    if teacher is not None:
        assert rdms_kind == "ok" and teacher.endpoints == ["V4"]


@BOUNDED
@given(st.sampled_from(["", "net", "net:", "brain:", "xyz:abc", "control:pixel", "control:untrained", "control:untrained:cifar_resnet-1",
                        "net:cifar_resnet-1", "net:nomodel:stack1", "sim:", "brain:Nope:V4", "control:pixels", "control:category", "+",
                        "control:pixels+control:category", "control:untrained:cifar_resnet-1:stack9"]))
def test_teacher_specs(spec):
    teacher = clear_or_correct(lambda: teacher_from_spec(spec, _images(6)))
    if teacher is not None:
        assert spec in ("control:pixels", "control:category", "control:pixels+control:category")
        assert np.isfinite(teacher.rdms.values).all()


@BOUNDED
@given(st.sampled_from(["imageset", "array", "one_category", "unlabelled", "no_ids"]))
def test_controls(kind):
    images = _images(6, labels=np.zeros(6, int) if kind == "one_category" else -np.ones(6, int) if kind == "unlabelled" else None)
    if kind == "no_ids":
        images.stimulus_ids = None
    given_images = images.images.numpy() if kind == "array" else images
    for build in (pixel_teacher, category_teacher):
        teacher = clear_or_correct(lambda: build(given_images))
        if teacher is not None:
            assert kind == "imageset" or (build is pixel_teacher and kind in ("one_category", "unlabelled"))
            assert isinstance(teacher.rdms, xr.DataArray) and np.isfinite(teacher.rdms.values).all()
