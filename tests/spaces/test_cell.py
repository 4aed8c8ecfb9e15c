import numpy as np
import pytest
from hyperopt.pyll.stochastic import sample

from neurosage.spaces import get_space
from neurosage.spaces.cell import NASNET_A, PNASNET_5, Block, Cell, Genotype, output_states


@pytest.mark.parametrize("genotype", [NASNET_A, PNASNET_5])
def test_reference_genotypes_roundtrip_string_and_json(genotype):
    assert Genotype.parse(str(genotype)) == genotype
    assert Genotype.from_json(genotype.to_json()) == genotype


def test_genotype_string_is_readable():
    assert str(PNASNET_5).startswith("normal: sep_conv_5x5@1 + max_pool_3x3@1 | sep_conv_7x7@0")


def test_invalid_block_input_is_rejected():
    with pytest.raises(ValueError, match="block 0 input 2 is invalid"):
        Cell((Block((2, 0), ("skip_connect", "skip_connect")),), (2,))


def test_an_unknown_op_is_refused_when_the_network_is_built():
    from neurosage.nets.build import build_network

    genotype = Genotype(Cell((Block((0, 1), ("conv_9x9", "skip_connect")),), (2,)))  # ops are data until built
    with pytest.raises(ValueError, match="unknown op 'conv_9x9'"):
        build_network(genotype, num_classes=2)


@pytest.mark.parametrize("name,n_labels", [("pnas", 5 * 4), ("nasnet", 2 * 5 * (4 + 1))])  # NASNet: + a combiner per block
def test_hyperopt_space_is_derived_from_ops_and_blocks(name, n_labels):
    space = get_space(name)
    hp_space = space.hyperopt_space()
    labels = [k for k in hp_space if k != "output"]
    assert len(labels) == n_labels
    # the input choices of block b offer exactly the states 0..b+1
    for b in range(5):
        options = hp_space[f"normal/b{b}/in0"].pos_args[1:]
        assert [o.obj for o in options] == list(range(b + 2))


@pytest.mark.parametrize("name", ["pnas", "nasnet"])
def test_hyperopt_samples_become_valid_genotypes(name):
    space = get_space(name, n_blocks=3)
    rng = np.random.default_rng(0)
    for _ in range(50):
        point = sample(space.hyperopt_space(), rng=rng)
        g = Genotype.from_hyperopt(point)
        assert g.n_blocks == 3
        assert (g.reduce is None) == (name == "pnas")
        assert Genotype.parse(str(g)) == g


def test_output_rules():
    blocks = NASNET_A.reduce.blocks
    assert output_states(blocks, "all_blocks") == (2, 3, 4, 5, 6)
    assert output_states(blocks, "loose_ends") == (4, 5, 6)  # states 2 and 3 feed later blocks


def test_sample_is_seeded():
    space = get_space("nasnet")
    assert space.sample(3) == space.sample(3)
    assert space.sample(3) != space.sample(4)


def test_space_size_counts_every_choice():
    space = get_space("pnas", n_blocks=2)
    assert space.size() == (2 * 2 * 8 * 8) * (3 * 3 * 8 * 8)


def test_nasnet_blocks_add_or_concatenate_and_round_trip():
    space = get_space("nasnet", n_blocks=5)
    combiners = {b.combiner for s in range(30) for cell in (space.sample(s).normal, space.sample(s).reduce) for b in cell.blocks}
    assert combiners == {"add", "concat"}
    assert "normal/b0/combiner" in space.hyperopt_space() and "normal/b0/combiner" not in get_space("pnas").hyperopt_space()
    genotype = next(space.sample(s) for s in range(30) if any(b.combiner == "concat" for b in space.sample(s).normal.blocks))
    assert " & " in str(genotype) and Genotype.parse(str(genotype)) == genotype == Genotype.from_json(genotype.to_json())
