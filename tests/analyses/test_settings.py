import pytest

from neurosage.analyses.cell_search import CellSearchConfig
from neurosage.analyses.embedded import check_config
from neurosage.analyses.settings import DemoConfig, EmbeddedConfig, SearchConfig
from neurosage.core.errors import ConfigError


def test_embedded_config_builds_network_and_space():
    config = CellSearchConfig(filters=6, n_cells=2, space="nasnet", n_blocks=4)
    assert isinstance(config, EmbeddedConfig)
    assert (config.network.filters, config.network.n_cells, config.network.skeleton) == (6, 2, "cifar")
    assert config.search_space.n_blocks == 4 and config.search_space.name == "nasnet"


def test_tpe_options_only_for_tpe():
    assert SearchConfig(budget=40).searcher_kwargs() == {"n_startup_jobs": 10, "gamma": 0.25}  # scaled to the budget
    assert DemoConfig(budget=8).n_startup() == 2 and SearchConfig(budget=1000).n_startup() == 20
    config = SearchConfig(startup_trials=3, tpe_gamma=0.5)
    assert config.searcher_kwargs() == {"n_startup_jobs": 3, "gamma": 0.5}
    assert SearchConfig(algo="random").searcher_kwargs() is None


@pytest.mark.parametrize(("given", "said"), [
    (dict(algo="rl", tpe_gamma=0.5), "tpe-gamma is set, but algo is 'rl'"),
    (dict(space="layers-10", n_blocks=2), "n-blocks is set, but space 'layers-10' is layer-wise"),  # round 4 #40
    (dict(space="layers-20", filters=4), "filters is set, but space 'layers-20'"),
    (dict(teacher="control:pixels", teacher_epochs=3), "teacher-epochs is set, but the teacher is 'control:pixels'"),  # round 4 #46
    (dict(teacher="control:pixels", teacher_depth=9), "teacher-depth is set"),
    (dict(objective="p", alpha=0.5), "alpha is set, but objective is 'p'"),  # round 5 #5
    (dict(objective="p", teacher="control:pixels"), "teacher is set, but objective is 'p'"),  # round 5 #154
    (dict(objective="p", compare_method="spearman"), "compare-method is set, but objective is 'p'"),  # round 6 #2
    (dict(objective="p", rdm_method="sqeuclidean"), "rdm-method is set, but objective is 'p'"),  # round 6 #3
    (dict(objective="tg", alpha=2.0), "alpha is set, but objective is 'tg'"),
])
def test_an_option_that_another_setting_makes_unused_is_refused_by_one_rule(given, said):
    with pytest.raises(ConfigError, match=said + ".*never apply"):
        check_config(SearchConfig(**given))  # the teacher's options after its spec's kinds: check_config
    assert SearchConfig(space="layers-10", width_multiplier=0.5).width_multiplier == 0.5  # an option the space uses
    assert SearchConfig(teacher_epochs=3).teacher_epochs == 3  # the embedded teacher is trained


def test_gpus_asked_of_slurm_for_candidates_on_the_cpu_and_a_meaningless_demo_are_refused():
    with pytest.raises(ConfigError, match="slurm-gpus = 1 asks each Slurm job for GPUs, and device is 'cpu'"):  # round 6 #54
        SearchConfig(slurm_jobs=1, slurm_gpus=1)
    with pytest.raises(ConfigError, match="startup-trials is set, but algo is 'random'"):  # round 7 #17: search refused it, demo did not
        DemoConfig(algo="random", startup_trials=1)
    with pytest.raises(ConfigError, match="alpha = 0 makes the demo's P"):  # round 5 #111
        DemoConfig(alpha=0)
    with pytest.raises(ConfigError, match="keep-weights = 0, and the demo compares"):  # round 5 #113
        DemoConfig(keep_weights=0)


def test_premature_budget_in_steps_or_epochs():
    assert SearchConfig(premature_steps=7).premature.steps == 7
    epochs = SearchConfig(premature_epochs=0.2).premature
    assert (epochs.epochs, epochs.steps) == (0.2, None)
    assert DemoConfig().premature.steps == 30


def test_cell_network_settings_read_as_before_the_width_multiplier_so_old_run_folders_resume():
    from neurosage.training.configs import NetworkConfig

    assert NetworkConfig().to_dict() == {"skeleton": "cifar", "n_cells": 1, "filters": 8, "n_stem_cells": None}
    assert NetworkConfig(width_multiplier=0.125).to_dict()["width_multiplier"] == 0.125


def _config_classes():
    import dataclasses
    import importlib

    from neurosage.analyses import ANALYSES

    classes = {SearchConfig, DemoConfig, EmbeddedConfig}
    for name in ANALYSES.names():
        module = importlib.import_module(f"neurosage.analyses.{name}")
        classes |= {c for c in vars(module).values() if isinstance(c, type) and dataclasses.is_dataclass(c) and issubclass(c, EmbeddedConfig)}
    return sorted(classes, key=lambda c: c.__name__)


def _numeric_fields():
    import dataclasses

    from neurosage.analyses.config_loading import field_types

    for cls in _config_classes():
        types = field_types(cls)
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else None
            numeric_tuple = types[f.name] is tuple and isinstance(default, tuple) and default and isinstance(default[0], (int, float))
            if types[f.name] in (int, float) or numeric_tuple:
                yield cls, f.name, types[f.name]


@pytest.mark.parametrize(("cls", "name", "kind"), list(_numeric_fields()), ids=lambda v: getattr(v, "__name__", str(v)))
def test_every_numeric_option_refuses_bad_values_by_name(cls, name, kind):
    """Generated from the config classes: a new option is covered (and must declare its range in RANGES)."""
    from neurosage.analyses.settings import RANGES
    from neurosage.core.errors import ConfigError

    assert name in RANGES, f"{cls.__name__}.{name} has no declared range in neurosage.analyses.settings.RANGES"
    allowed = RANGES[name]
    bad = ["3", True, float("nan"), float("inf"), None if cls.__dataclass_fields__[name].default is not None else "x"]
    if allowed.low is not None:
        bad += [allowed.low - 1, allowed.low] if allowed.open_low else [allowed.low - 1]
    if allowed.high is not None:
        bad.append(allowed.high + 1)
    for value in bad:
        if value is None:
            continue
        wrapped = (value,) if kind is tuple else value
        with pytest.raises(ConfigError) as info:
            cls(**{name: wrapped})
        assert name.replace("_", "-") in str(info.value) or name in str(info.value), (value, str(info.value))
        assert "fix:" in str(info.value)


def test_the_defaults_of_every_config_class_are_valid():
    for cls in _config_classes():
        cls()


def test_more_recalibration_batches_than_the_training_set_holds_are_said(caplog):
    """Round 6 #101: bn-recalibration 1000 with one batch of training images was recorded without a word."""
    check_config(SearchConfig(n_train=64, batch_size=64, bn_recalibration=1000))
    assert "bn-recalibration = 1000 batches, but n-train 64 in batches of 64 holds 1" in caplog.text
    caplog.clear()
    check_config(SearchConfig(n_train=64, batch_size=64))  # the default is not the user's claim
    assert "bn-recalibration" not in caplog.text


def test_round_8_settings_that_never_apply_are_refused_in_python_too():
    from neurosage.analyses.search_comparison import SearchComparisonConfig

    with pytest.raises(ConfigError, match="alpha is set, but every objective is 'p'"):  # round 8 #114
        SearchComparisonConfig(objectives=("p",), alpha=3.0)
    with pytest.raises(ConfigError, match="teacher is set, but every objective is 'p'"):  # round 8 #115
        SearchComparisonConfig(objectives=("p",), teacher="control:pixels")
    with pytest.raises(ConfigError, match="slurm-extra must be a list"):  # round 8 Q17
        SearchConfig(slurm_extra="--qos=x")
    with pytest.raises(ConfigError, match="slurm-partition is set but slurm-jobs is not"):
        SearchConfig(slurm_partition="gpu")


@pytest.mark.parametrize("cls, options, message", [
    ("neuro_search.NeuroSearchConfig", dict(objective="p"), "objective is set, but the two searches of Table 4 run their own"),  # round 8 #81
    ("search_comparison.SearchComparisonConfig", dict(objective="tg"), "objective is set, but the comparison scores its objectives"),
    ("search_comparison.SearchComparisonConfig", dict(algo="rl"), "algo is set, but the comparison runs its algorithms"),
    ("search_comparison.SearchComparisonConfig", dict(space="pnas"), "space is set, but the comparison searches its spaces"),
    ("settings.DemoConfig", dict(objective="tg"), "objective is set, but the demo always runs one search by P"),
    ("channel_search.ChannelSearchAnalysisConfig", dict(filters=32), "filters is set, but the channel search resizes the channels of a CIFAR"),
    ("teacher_bench.TeacherBenchConfig", dict(teacher_depth=3), "teacher-depth is set, but the teacher bench trains and scores its own"),
])
def test_options_a_command_does_not_use_are_refused(cls, options, message):
    """Each config class declares (UNUSED) the inherited options its command does not use; set, they are refused, not recorded."""
    import importlib

    module, name = cls.split(".")
    config_class = getattr(importlib.import_module(f"neurosage.analyses.{module}"), name)
    with pytest.raises(ConfigError, match=message):
        config_class(**options)
    config_class()  # the defaults pass


@pytest.mark.parametrize("cls, toml, message", [
    ("search_comparison.SearchComparisonConfig", 'algo = "tpe"\nalgorithms = ["rl"]\n', "algo is set, but the comparison runs"),  # round 9 #22
    ("cell_search.CellSearchConfig", 'space = "layers-10"\nwidth-multiplier = 0.125\nrerank-filters = 4\n',
     "rerank-filters is set, but space 'layers-10' is layer-wise"),  # round 9 #10
    ("cell_search.CellSearchConfig", "rerank-steps = 2\nrerank-epochs = 0.1\n", "rerank-steps is set, but rerank-epochs is set and replaces it"),
    ("cell_search.CellSearchConfig", "final-steps = 2\nfinal-epochs = 0.1\n", "final-steps is set, but final-epochs is set and replaces it"),
    ("search_comparison.SearchComparisonConfig", "premature-steps-grid = [2, 3]\npremature-epochs-grid = [0.1]\n",
     "premature-steps-grid is set, but premature-epochs-grid"),  # round 9 #12
    ("search_comparison.SearchComparisonConfig", "premature-steps = 5\npremature-steps-grid = [2, 3]\n",
     "premature-steps is set, but premature-steps-grid"),
    ("settings.SearchConfig", "premature-steps = 30\npremature-epochs = 0.1\n", "premature-steps is set, but premature-epochs"),  # its default
    ("neuro_search.NeuroSearchConfig", "seed = 5\nseeds = [1]\n", r"seed = 5 is not among seeds = \[1\]"),  # round 9 #73
    ("cell_search.CellSearchConfig", 'objective = "p"\nalpha = 2.0\n', "alpha is set, but objective is 'p'"),  # round 9 #96
    ("cell_search.CellSearchConfig", 'objective = "p"\nalpha = 1.0\n', "alpha is set, but objective is 'p'"),  # given at its default
])
def test_an_option_given_in_a_toml_that_another_setting_makes_unused_is_refused(tmp_path, cls, toml, message):
    """Given explicitly, an option counts as set even at its default value; the replaced option of a steps/epochs pair, a grid, or a
    seed outside seeds is refused, not recorded."""
    import importlib

    from neurosage.analyses.config_loading import load_config

    module, name = cls.split(".")
    (tmp_path / "c.toml").write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_config(getattr(importlib.import_module(f"neurosage.analyses.{module}"), name), tmp_path / "c.toml")


def test_a_seed_among_seeds_and_python_teacher_arguments_without_a_teacher(tmp_path):
    from neurosage.analyses.neuro_search import NeuroSearchConfig

    assert NeuroSearchConfig(seed=1, seeds=(1, 2)).seeds == (1, 2)
    assert NeuroSearchConfig(seeds=(1, 2)).seed == 0  # seed at its default: the teacher's and the splits' seed
    with pytest.raises(ConfigError, match="teacher arguments were given without a teacher spec"):  # round 9 C17: the CLI refused it
        SearchConfig(teacher_args={"responses": 5})


def test_numpy_numbers_are_plain_numbers_in_every_config():
    """Round 9 C10: a count read with pandas (np.int64) was refused as 'not an integer'."""
    import numpy as np

    from neurosage.analyses.predictability import PredictabilityConfig

    config = PredictabilityConfig(n_architectures=np.int64(5), checkpoints=(np.int64(1), np.int64(2)), mature_steps=np.int64(3),
                                  lr=np.float32(0.05))
    assert (config.n_architectures, config.checkpoints, config.mature_steps) == (5, (1, 2), 3)
    assert type(config.n_architectures) is int and type(config.lr) is float and all(type(c) is int for c in config.checkpoints)
