from neurosage.analyses.cell_search import CellSearchConfig
from neurosage.analyses.settings import DemoConfig, EmbeddedConfig, SearchConfig


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


def test_premature_budget_in_steps_or_epochs():
    assert SearchConfig(premature_steps=7).premature.steps == 7
    epochs = SearchConfig(premature_epochs=0.2).premature
    assert (epochs.epochs, epochs.steps) == (0.2, None)
    assert DemoConfig().premature.steps == 30


def test_cell_network_settings_read_as_before_the_width_multiplier_so_old_run_folders_resume():
    from neurosage.training.configs import NetworkConfig

    assert NetworkConfig().to_dict() == {"skeleton": "cifar", "n_cells": 1, "filters": 8, "n_stem_cells": None}
    assert NetworkConfig(width_multiplier=0.125).to_dict()["width_multiplier"] == 0.125
