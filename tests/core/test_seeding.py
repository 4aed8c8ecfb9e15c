import numpy as np

from neurosage.core.seeding import derive_seed


def test_derived_seeds_are_stable_distinct_and_from_seedsequence():
    assert derive_seed(0, 1) == derive_seed(0, 1)
    seeds = {derive_seed(s, t) for s in range(5) for t in range(5)}
    assert len(seeds) == 25  # unlike seed + t, no two (seed, task) pairs share a stream
    expected = int(np.random.default_rng(np.random.SeedSequence([3, 7, 1])).integers(2**31 - 1))
    assert derive_seed(3, 7, 1) == expected and 0 <= expected < 2**31 - 1
