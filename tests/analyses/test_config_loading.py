import pytest

from neurosage.analyses.cell_search import CellSearchConfig
from neurosage.analyses.config_loading import config_keys, field_types, load_config
from neurosage.analyses.search_comparison import SearchComparisonConfig
from neurosage.analyses.settings import SearchConfig
from neurosage.core.errors import ConfigError


def test_load_config_layers_defaults_toml_and_overrides(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('budget = 7\nseeds = [3, 4, 5]\nn-train = 500\ntpe-gamma = 0.5\n')
    config = load_config(SearchComparisonConfig, toml, budget=9, top_k=None)  # top_k=None: the default (2)
    assert (config.budget, config.seeds, config.n_train, config.tpe_gamma, config.top_k) == (9, (3, 4, 5), 500, 0.5, 2)
    toml.write_text('n-blocks = 2\n')  # a cell option, and the comparison searches layer-wise spaces (round 4 #40)
    with pytest.raises(ConfigError, match="n-blocks is set, but spaces 'layers-10', 'layers-20' are layer-wise"):
        load_config(SearchComparisonConfig, toml)
    toml.write_text('spaces = ["pnas"]\nn-blocks = 2\nwidth-multiplier = 1.0\n')  # round 7 C18: the spaces searched decide
    assert load_config(SearchComparisonConfig, toml).n_blocks == 2


def test_load_config_names_unknown_keys(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text("n-block = 2\n")
    with pytest.raises(ValueError, match=r"n_block.*did you mean 'n_blocks'.*known"):
        load_config(CellSearchConfig, toml)


def test_one_vocabulary_for_search_and_analyses(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text("n-blocks = 2\nn_cells = 2\npremature-epochs = 0.25\n")
    config = load_config(SearchConfig, toml)
    assert (config.n_blocks, config.n_cells) == (2, 2) and config.premature.epochs == 0.25 and config.premature.steps is None
    assert {"n-blocks", "n-cells", "filters", "budget", "tpe-gamma"} <= set(config_keys(SearchConfig)) & set(config_keys(CellSearchConfig))
    toml.write_text("blocks = 2\n")  # the old search vocabulary is refused with the new key
    with pytest.raises(ValueError, match="did you mean 'n_blocks'"):
        load_config(SearchConfig, toml)


def test_field_types_unwrap_optionals_and_tuples():
    assert field_types(SearchComparisonConfig)["seeds"] is tuple
    types = field_types(SearchConfig)
    assert (types["budget"], types["data"], types["premature_epochs"], types["alpha"]) == (int, str, float, float)


def test_a_toml_file_with_a_utf8_byte_order_mark_reads_as_without(tmp_path):
    from neurosage.analyses.config_loading import load_config
    from neurosage.analyses.settings import SearchConfig

    path = tmp_path / "windows.toml"
    path.write_bytes(b"\xef\xbb\xbfbudget = 7\n")
    assert load_config(SearchConfig, path).budget == 7


def test_a_shortlist_longer_than_the_search_is_refused():
    """Round 6 #25: top-k = 5 with budget = 2 reranked 2 trials and recorded top_k 5."""
    with pytest.raises(ConfigError, match="top-k = 5 is more than budget = 2"):
        CellSearchConfig(budget=2, top_k=5)


def test_keys_under_a_table_are_shown_as_the_top_level_keys_they_should_be(tmp_path):
    """Round 6 #95: "[tpe] gamma" was to become "gamma" at the top level, an unknown option (tpe-gamma is the key)."""
    toml = tmp_path / "c.toml"
    toml.write_text("[tpe]\ngamma = 0.5\nbudget = 3\nfoo = 1\n")
    with pytest.raises(ConfigError, match=r"delete the \[tpe\] line and write its keys at the top level as budget = \.\.\., foo = \.\.\., "
                                          r"tpe-gamma = \.\.\. \(foo is no option of this command\)"):
        load_config(SearchConfig, toml)


def test_a_teacher_weights_file_beside_the_toml_is_found_there(tmp_path, monkeypatch):
    """Round 7 #91: data = was read from the TOML's folder, the weights file of a net: teacher spec was not."""
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "teacher.pt").write_bytes(b"x")
    (folder / "c.toml").write_text('teacher = "net:cifar_resnet-1:stack1:teacher.pt+control:pixels"\n')
    monkeypatch.chdir(tmp_path)
    config = load_config(SearchConfig, folder / "c.toml")
    assert config.teacher == f"net:cifar_resnet-1:stack1:{folder / 'teacher.pt'}+control:pixels"
