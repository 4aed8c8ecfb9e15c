"""The space contract: every registered space follows ``SearchSpace``; points map to indices and back."""

import pytest

from neurosage.core.errors import ConfigError
from neurosage.spaces import SPACES, SearchSpace, from_indices, get_space, parse_genotype, space_for, to_indices


@pytest.mark.parametrize("name", ["pnas", "nasnet", "layers-10", "layers-20"])
def test_registered_spaces_follow_the_contract_and_round_trip_points(name):
    space = space_for(name, 2)
    assert isinstance(space, SearchSpace) and space.kind in ("cell", "layers")
    genotype = space.sample(4)
    assert str(parse_genotype(str(genotype))) == str(genotype)
    point = {label: options[-1] for label, options in space.decisions() if len(options) > 1}
    indices = to_indices(space, point)
    assert all(isinstance(i, int) for i in indices.values())
    assert from_indices(space, indices) == point


def test_a_space_missing_a_method_is_refused_by_name():
    class Half:
        name, kind = "half", "cell"

        def decisions(self):
            return []

    SPACES.register("half", lambda n_blocks=5: Half())
    try:
        with pytest.raises(ConfigError, match="lacks hyperopt_space, genotype, parse, sample, size"):
            get_space("half")
    finally:
        SPACES.unregister("half")
