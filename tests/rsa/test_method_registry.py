"""RSA methods are registries: a plug-in RDM method or comparison is one registration, and it shows up in the API, the
TOML, the CLI help, the ceiling and bootstrap rules and the teacher chain, with the properties it declares."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from neurosage.assembly import average_repetitions, make_assembly
from neurosage.core.errors import ConfigError
from neurosage.core.registry import check_contract, resolve
from neurosage.rsa.compare import compare_rdms
from neurosage.rsa.methods import (
    COMPARE_METHODS,
    RDM_METHODS,
    bootstrap_methods,
    check_rsa_methods,
    compare_method,
    correlations,
    euclidean_rdms,
    model_rdm_method,
)
from neurosage.rsa.rdm import compute_rdm, stack_rdms, upper_triangle
from neurosage.rsa.score import teacher_scores


def _negdist(a, b, *, device=None):
    """Toy comparison: minus the mean squared difference of the upper triangles."""
    va, vb = (torch.as_tensor(np.atleast_2d(upper_triangle(r)), device=device) for r in (a, b))
    return _negdist_rows(va, vb)


def _negdist_rows(va, vb):
    return -((va[:, None, :] - vb[None, :, :]) ** 2).mean(dim=-1)


def _manhattan(patterns):
    """Toy RDM method: city-block distance / features."""
    return torch.cdist(patterns, patterns, p=1) / patterns.shape[1]


def _trial_means(patterns, *, conditions, folds):
    """Toy method that needs repetitions: 1 - Pearson r of the condition means of the trials (``folds`` unused)."""
    del folds
    means = torch.stack([patterns[torch.as_tensor(conditions == c)].mean(dim=0) for c in range(int(conditions.max()) + 1)])
    centred = means - means.mean(dim=1, keepdim=True)
    unit = centred / centred.norm(dim=1, keepdim=True)
    return 1 - unit @ unit.T


@pytest.fixture
def plugins():
    """Plug-in methods, registered for one test and removed after it."""
    COMPARE_METHODS.register("negdist", _negdist, description="minus the mean squared difference of RDM entries", bootstrap=_negdist_rows,
                             aliases=("neg-dist",))
    COMPARE_METHODS.register("pearson_copy", resolve("neurosage.rsa.compare:pearson_rdms"), description="Pearson again", correlation=True)
    COMPARE_METHODS.register("whole_matrix", _negdist, description="a comparison without a bootstrap form",
                             no_bootstrap="toy reason: whole matrices only")
    RDM_METHODS.register("manhattan", _manhattan, description="city-block distance / features")
    RDM_METHODS.register("sqeuclidean_copy", resolve("neurosage.rsa.rdm:sqeuclidean_distance"), description="sqeuclidean again",
                         euclidean=True, squared=True)
    RDM_METHODS.register("trial_means", _trial_means, description="correlation of the condition means of the trials", needs_repetitions=True,
                         for_models="correlation")
    try:
        yield
    finally:
        for name in ("negdist", "pearson_copy", "whole_matrix"):
            COMPARE_METHODS.unregister(name)
        for name in ("manhattan", "sqeuclidean_copy", "trial_means"):
            RDM_METHODS.unregister(name)


def _stacks(rng, method="correlation"):
    x = rng.normal(size=(15, 25))
    y = x[:, :8] @ rng.normal(size=(8, 12)) + rng.normal(size=(15, 12))
    a = stack_rdms({"V4": compute_rdm(x, method), "IT": compute_rdm(np.abs(x), method)})
    b = stack_rdms({"l1": compute_rdm(y, method), "l2": compute_rdm(np.tanh(y), method)})
    return a, b


def test_plug_in_methods_compute_the_right_numbers(plugins, rng):
    x = rng.normal(size=(10, 7))
    np.testing.assert_allclose(compute_rdm(x, "manhattan").values, cdist(x, x, "cityblock") / 7, atol=1e-12)
    assert compute_rdm(x, "Manhattan").attrs["method"] == "manhattan"  # names are case-insensitive
    a, b = _stacks(rng)
    ta, tb = upper_triangle(a), upper_triangle(b)
    expected = -((ta[:, None, :] - tb[None, :, :]) ** 2).mean(axis=-1)
    np.testing.assert_allclose(compare_rdms(a, b, "negdist").values, expected, atol=1e-12)
    assert compare_rdms(a, b, "neg-dist").attrs["method"] == "negdist"  # an alias means the same
    single = compare_rdms(a.isel(rdm=0, drop=True), b.isel(rdm=1, drop=True), "negdist")  # two single RDMs: a scalar
    assert float(single) == pytest.approx(expected[0, 1], abs=1e-12)


def test_a_method_that_needs_repetitions_gets_the_trials_and_names_the_layers_method(plugins, recording):
    v4 = recording.isel(neuroid=recording.region.values == "V4")
    ours = compute_rdm(v4, "trial_means")
    assert ours.attrs["repetitions"] == 3
    reference = compute_rdm(average_repetitions(v4), "correlation")
    ids = list(ours.condition_row.values)
    np.testing.assert_allclose(ours.values, reference.sel(condition_row=ids, condition_col=ids).values, atol=1e-12)
    assert model_rdm_method("trial_means") == "correlation" and model_rdm_method("manhattan") == "manhattan"
    with pytest.raises(ConfigError, match="repetitions"):
        compute_rdm(average_repetitions(v4).values, "trial_means")


def test_declared_properties_drive_the_rules(plugins, rng):
    assert "pearson_copy" in correlations() and "negdist" not in correlations()
    assert "sqeuclidean_copy" in euclidean_rdms() and "manhattan" not in euclidean_rdms()
    # CKA needs Euclidean RDMs: a plug-in declared euclidean gets it, one that is not is refused, in the API and the config check
    x, y = rng.normal(size=(12, 9)), rng.normal(size=(12, 5))
    for method in ("sqeuclidean", "sqeuclidean_copy"):
        assert check_rsa_methods(method, "cka") == (method, "cka")
    np.testing.assert_allclose(float(compare_rdms(compute_rdm(x, "sqeuclidean_copy"), compute_rdm(y, "sqeuclidean_copy"), "cka")),
                               float(compare_rdms(compute_rdm(x, "sqeuclidean"), compute_rdm(y, "sqeuclidean"), "cka")), atol=1e-12)
    with pytest.raises(ConfigError, match="Euclidean"):
        check_rsa_methods("manhattan", "cka")
    with pytest.raises(ConfigError, match="Euclidean"):
        compare_rdms(compute_rdm(x, "manhattan"), compute_rdm(y, "manhattan"), "cka")


def _reliable_recording(rng, n_stim=10, n_rep=4, n_sites=12):
    """A V4 recording whose responses repeat (signal plus noise), so its ceiling is positive."""
    ids = np.tile([f"s{i}" for i in range(n_stim)], n_rep)
    values = np.tile(rng.normal(size=(n_stim, n_sites)), (n_rep, 1)) + 0.3 * rng.normal(size=(n_stim * n_rep, n_sites))
    return make_assembly(values, stimulus_id=ids, region=["V4"] * n_sites, presentation_coords={"repetition": np.repeat(np.arange(n_rep), n_stim)})


def test_the_ceiling_rule_reads_the_correlation_property(plugins, rng):
    from neurosage.teachers.teacher import brain_teacher

    recording = _reliable_recording(rng)
    divided = brain_teacher(recording, compare_method="pearson_copy", ceiling_splits=3)
    assert divided.ceilings is not None and divided.ceiling_details["V4"].compare_method == "pearson_copy"
    plain = brain_teacher(recording, compare_method="negdist", ceiling_splits=3)
    assert plain.ceilings is None and plain.ceiling_details["V4"].compare_method == "pearson"  # reliability still a Pearson r


def test_bootstrap_rules_follow_the_declaration(plugins, rng):
    from neurosage.rsa.score import BOOTSTRAP_METHODS

    assert "negdist" in bootstrap_methods() and "negdist" in BOOTSTRAP_METHODS and "whole_matrix" not in bootstrap_methods()
    a, b = _stacks(rng)
    scores = teacher_scores(a, b, "negdist", n_bootstrap=50)
    lo, hi = scores.tg_interval
    assert lo <= scores.tg <= hi and scores.n_bootstrap == 50
    assert set(scores.intervals) == {"V4", "IT"}
    with pytest.raises(ConfigError, match="toy reason: whole matrices only") as err:
        teacher_scores(a, b, "whole_matrix", n_bootstrap=50)
    assert "negdist" in err.value.fix  # the fix lists the comparisons that offer intervals, plug-ins included
    with pytest.raises(ConfigError, match="rho_a, its rank-based relative"):  # a built-in without intervals says why too
        teacher_scores(a, b, "kendall_tau_a", n_bootstrap=50)


def test_a_plug_in_is_a_toml_value(plugins, tmp_path):
    from neurosage.analyses.config_loading import load_config
    from neurosage.analyses.settings import SearchConfig

    path = tmp_path / "search.toml"
    path.write_text('rdm-method = "Manhattan"\ncompare-method = "neg-dist"\n')
    config = load_config(SearchConfig, path)
    assert (config.rdm_method, config.compare_method) == ("manhattan", "negdist")
    path.write_text('rdm-method = "manhatan"\n')
    with pytest.raises(ConfigError, match="manhattan"):  # the choices and the close match name the plug-in
        load_config(SearchConfig, path)


def _help(*argv: str) -> str:
    from neurosage.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([*argv, "--help"]) == 0
    return " ".join(out.getvalue().split())


def test_a_plug_in_is_listed_in_the_cli_help(plugins):
    rdm, search = _help("rdm"), _help("search")
    assert "negdist = minus the mean squared difference of RDM entries" in rdm and "neg-dist for negdist" in rdm
    assert "manhattan = city-block distance / features" in rdm
    assert "offer intervals: cosine, negdist, pearson" in rdm  # --bootstrap's default follows the declarations
    for name in ("negdist", "whole_matrix", "manhattan", "trial_means"):
        assert name in search, name
    for name in [*RDM_METHODS.names(), *COMPARE_METHODS.names()]:
        assert name in rdm, name


def test_a_registration_that_breaks_the_contract_is_refused():
    with pytest.raises(ConfigError, match="device"):  # a comparison takes device=
        COMPARE_METHODS.register("no_device", lambda a, b: None)
    with pytest.raises(ConfigError, match="unknown properties"):
        COMPARE_METHODS.register("typo", _negdist, corelation=True)
    with pytest.raises(ConfigError, match="lower case"):
        RDM_METHODS.register("Manhattan", _manhattan)
    assert "no_device" not in COMPARE_METHODS and "typo" not in COMPARE_METHODS and "Manhattan" not in RDM_METHODS
    with pytest.raises(ConfigError, match="choose one of") as err:
        compare_method("negdist")  # nothing registered it here
    assert "pearson" in str(err.value)


def test_teacher_kinds_take_the_rsa_choices():
    from neurosage.teachers import TEACHER_KINDS, TeacherKind

    for name in TEACHER_KINDS.names():  # the built-in kinds declare the contract's keywords themselves
        check_contract(TEACHER_KINDS.get(name).factory, TeacherKind, f"teacher kind {name!r}")

    def no_methods(spec, args, stimuli, *, device, seed, dataset_kwargs):
        raise AssertionError("never called")

    with pytest.raises(ConfigError, match="rdm_method"):
        TEACHER_KINDS.register("no-methods", no_methods)
    assert "no-methods" not in TEACHER_KINDS


def test_a_plug_in_travels_through_the_teacher_to_the_scores(plugins, rng, tmp_path):
    from helpers import random_stimuli
    from neurosage.nets.models import build_model
    from neurosage.teachers.kinds import teacher_from_spec
    from neurosage.teachers.scoring import score_model_rdms
    from neurosage.teachers.teacher import Teacher
    from neurosage.training.configs import RDMOptions

    stimuli = random_stimuli(rng, 10)
    teacher = teacher_from_spec("net:cifar_resnet-1:stack1:random", stimuli, cache_dir=tmp_path, rdm_method="manhattan", compare_method="neg-dist")
    assert (teacher.rdm_method, teacher.compare_method) == ("manhattan", "negdist")
    (cached,) = tmp_path.glob("teacher-*.nc")
    recorded = json.loads(Teacher.load(cached).rdms.attrs["provenance"])["rdm"]
    assert (recorded["rdm_method"], recorded["compare_method"]) == ("manhattan", "negdist")
    net = build_model("cifar_resnet-1", weights="random", in_channels=1, seed=0)
    scores, rdms = score_model_rdms(net, teacher, ["stack1", "stack2"], rdm=RDMOptions(), n_bootstrap=20)
    assert rdms.attrs["method"] == "manhattan" and scores.similarity.attrs["method"] == "negdist"
    assert scores.best_layer == {"stack1": "stack1"} and scores.per_endpoint["stack1"] == pytest.approx(0.0, abs=1e-12)
    assert scores.tg_interval is not None


def test_caches_and_records_written_before_the_rename_still_read(rng, tmp_path):
    from helpers import random_stimuli
    from neurosage.rsa.ceiling import Ceiling
    from neurosage.runs.resume import refuse_changed_settings
    from neurosage.teachers.kinds import _cache_key, _legacy_provenance, teacher_from_spec, teacher_provenance
    from neurosage.training.configs import RDMOptions

    old = {"value": 0.9, "reliability": 0.81, "sd": 0.01, "lo": 0.88, "hi": 0.92, "n_splits": 3, "n_stimuli": 8, "convention": "sqrt",
           "compare": "spearman", "method": "crossnobis"}
    assert (Ceiling.from_dict(old).compare_method, Ceiling.from_dict(old).rdm_method) == ("spearman", "crossnobis")
    # a teacher cached under the old provenance layout is found, not rebuilt
    stimuli = random_stimuli(rng, 8)
    spec = "net:cifar_resnet-1:stack1:random"
    built = teacher_from_spec(spec, stimuli)
    provenance = teacher_provenance(spec, stimuli, {}, 0, "correlation", "pearson")
    assert _legacy_provenance(provenance)["rdm"] == {"method": "correlation", "network_layers": "mean of 10 subsamples of 1000 features",
                                                     "recordings": "all sites"}
    legacy = built.rdms.copy()
    for key in ("rdm_method", "compare_method"):  # the oldest caches carry only the RDMs' own "method"
        legacy.attrs.pop(key)
    legacy.values[0, 0, 1] = legacy.values[0, 1, 0] = 123.0  # marks the cached file
    legacy.to_netcdf(tmp_path / f"teacher-{_cache_key(_legacy_provenance(provenance))}.nc")
    again = teacher_from_spec(spec, stimuli, cache_dir=tmp_path)
    assert again.rdms.values[0, 0, 1] == 123.0 and (again.rdm_method, again.compare_method) == ("correlation", "pearson")
    # a run folder that recorded RDMOptions' old field name resumes
    (tmp_path / "run.json").write_text(json.dumps({"settings": {"candidate_rdm": {"subsample_features": 1000, "n_subsamples": 10,
                                                                                  "method": "correlation", "layers": "every cell output"}}}))
    refuse_changed_settings(tmp_path, {"candidate_rdm": {**RDMOptions().to_dict(), "layers": "every cell output"}})
