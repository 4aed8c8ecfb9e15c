import json

import pytest

from neurosage.analyses.cell_search import CellSearchConfig
from neurosage.analyses.config import load_config
from neurosage.analyses.settings import EmbeddedConfig
from neurosage.atomic import write_json
from neurosage.analyses.search_comparison import SearchComparisonConfig


def test_load_config_layers_defaults_toml_and_overrides(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('budget = 7\nseeds = [3, 4, 5]\nn-blocks = 2\ntpe-gamma = 0.5\n')
    config = load_config(SearchComparisonConfig, toml, budget=9, top_k=None)
    assert (config.budget, config.seeds, config.n_blocks, config.tpe_gamma, config.top_k) == (9, (3, 4, 5), 2, 0.5, 3)


def test_load_config_names_unknown_keys(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text("n-block = 2\n")
    with pytest.raises(ValueError, match=r"n_block.*known"):
        load_config(CellSearchConfig, toml)


def test_embedded_config_builds_network_and_space():
    config = CellSearchConfig(filters=6, n_cells=2, space="nasnet", n_blocks=4)
    assert isinstance(config, EmbeddedConfig)
    assert (config.network.filters, config.network.n_cells, config.network.skeleton) == (6, 2, "cifar")
    assert config.cell_space.n_blocks == 4 and config.cell_space.name == "nasnet"


def test_write_json_serializes_dataclasses(tmp_path):
    path = write_json(tmp_path / "sub" / "config.json", {"config": CellSearchConfig(budget=5)})
    assert json.loads(path.read_text())["config"]["budget"] == 5
