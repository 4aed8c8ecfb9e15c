import numpy as np
import pytest
from hyperopt import hp, space_eval
from hyperopt.pyll.stochastic import sample

from neurosage.core.errors import ConfigError
from neurosage.spaces import SPACES, get_space, parse_genotype
from neurosage.spaces.layerwise import Layer, LayerGenotype, LayerSpace


@pytest.mark.parametrize("name,depth", [("layers-10", 10), ("layers-20", 20)])
def test_sampled_genotypes_roundtrip_string_and_json(name, depth):
    space = get_space(name)
    assert space.depth == depth and name in SPACES.names()
    for seed in range(20):
        genotype = space.sample(seed)
        assert genotype.depth == depth
        assert LayerGenotype.parse(str(genotype)) == genotype == parse_genotype(str(genotype))
        assert LayerGenotype.from_json(genotype.to_json()) == genotype


def test_string_form_is_readable_and_strides_roundtrip():
    genotype = LayerGenotype((Layer(3, 5, 24), Layer(1, 1, 36, (0,), stride=2), Layer(7, 7, 64, (0, 1))))
    assert str(genotype) == "layers: 3x5/24 <- img | 1x1/36s2 <- 0 | 7x7/64 <- 0,1"
    assert LayerGenotype.parse(str(genotype)) == genotype
    assert genotype.outputs == (2,)  # layers 0 and 1 are read by layer 2: only it feeds the classifier


def test_decisions_match_zoph_and_le():
    space = get_space("layers-10")
    decisions = dict(space.decisions())
    assert decisions["l3/height"] == [1, 3, 5, 7] and decisions["l3/filters"] == [24, 36, 48, 64]
    assert decisions["l3/in2"] == [0, 1] and "l0/in0" not in decisions and "l3/in3" not in decisions
    assert len(decisions) == 10 * 4 + 10 * 9 // 2
    assert space.size() == (4 * 4 * 4) ** 10 * 2 ** 45


def test_hyperopt_points_and_random_samples_are_valid_genotypes():
    space = LayerSpace("strided", 6, strides=(1, 2, 3))
    hp_space = space.hyperopt_space()
    assert isinstance(hp_space["l0/stride"], type(hp.choice("x", [1, 2])))  # three strides: a decision
    rng = np.random.default_rng(0)
    for _ in range(10):
        genotype = space.genotype(sample(hp_space, rng=rng))
        assert all(layer.stride in (1, 2, 3) for layer in genotype.layers)
    fixed = get_space("layers-10").hyperopt_space()
    assert fixed["l0/stride"] == 1  # one stride: not a hyperopt decision
    vals = {k: 0 for k in fixed if k.startswith("l") and not k.endswith("stride")}
    first = get_space("layers-10").genotype(space_eval(fixed, vals))
    assert all(layer.height == 1 and layer.filters == 24 and layer.inputs == () for layer in first.layers)


@pytest.mark.parametrize("text,match", [
    ("layers: 3x3/24 <- 1", "layer 0 reads"),
    ("layers: 3x3/24 <- img | 3x3/24 <- 0,0", "at most once"),
    ("layers: 3x3/0 <- img", "filters must be at least 1, got 0"),
    ("layers: 3by3/24 <- img", "cannot parse layer"),
    ("normal: x", "starts with 'layers:'"),
])
def test_bad_genotype_strings_are_refused_with_the_fix(text, match):
    with pytest.raises(ConfigError, match=match):
        LayerGenotype.parse(text)


def test_depth_must_be_positive():
    with pytest.raises(ConfigError, match="depth must be a positive integer"):
        LayerSpace("none", 0)
