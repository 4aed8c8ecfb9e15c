"""Quantities as users write them: parameter targets with units, memory that must say its unit."""

import pytest

from neurosage.core.errors import ConfigError
from neurosage.core.quantities import check_memory, parse_count


@pytest.mark.parametrize("text, count", [("5.5M", 5_500_000), ("5500000", 5_500_000), (5_500_000, 5_500_000), ("300k", 300_000),
                                         ("5.5e6", 5_500_000), (" 2G ", 2e9), (40000, 40_000)])
def test_a_parameter_count_is_read_with_its_unit(text, count):
    assert parse_count(text, field="final_params") == count


def test_a_bare_number_too_small_for_a_network_is_refused_with_the_reading_meant():
    with pytest.raises(ConfigError, match=r"final-params = 5.5 is 6 parameters, too few for a network; did you mean 5.5M = 5,500,000\?") as exc:
        parse_count(5.5, field="final_params")
    assert exc.value.fix == "write the count with its unit, e.g. 5.5M, or in full" and exc.value.field == "final_params"
    for bad in ("lots", "5.5 M params", "-3M", True, "0"):
        with pytest.raises(ConfigError, match="final-params"):
            parse_count(bad, field="final_params")


def test_the_final_params_setting_takes_units_and_refuses_5_5():
    from neurosage.analyses.neuro_search import NeuroSearchConfig

    assert NeuroSearchConfig(final_params="5.5M").final_params == 5_500_000
    with pytest.raises(ConfigError, match="did you mean 5.5M"):
        NeuroSearchConfig(final_params=5.5)


@pytest.mark.parametrize("text", ["4GB", "500MB", "16GiB", "1.5 GB", "2T"])
def test_memory_with_a_unit_passes(text):
    assert check_memory(text, field="slurm_memory") == text


@pytest.mark.parametrize("bad, fix", [("4", "4GB"), (4, "4GB"), ("lots", "4GB or 500MB"), ("4 bytes", "4GB or 500MB")])
def test_memory_without_a_unit_is_refused(bad, fix):
    with pytest.raises(ConfigError, match="not an amount of memory with a unit") as exc:
        check_memory(bad, field="slurm_memory")
    assert fix in exc.value.fix


def test_the_slurm_memory_flag_requires_a_unit(capsys):
    from neurosage.cli import main

    assert main(["search", "/tmp/never-made", "--slurm-jobs", "2", "--slurm-memory", "4"]) == 2
    assert "slurm-memory = '4' is not an amount of memory with a unit" in capsys.readouterr().err
    from pathlib import Path

    assert not Path("/tmp/never-made").exists()  # refused before any run folder was made

