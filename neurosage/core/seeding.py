"""Seeds for sub-tasks, all derived from one user seed through ``numpy.random.SeedSequence``.

``derive_seed(seed, *path)`` gives a 31-bit integer seed for the sub-task named by
the integer ``path`` (a trial id, a layer index, a stream tag), so sub-tasks never
share a stream by accident (``seed + i`` would collide across tasks) and no global
random state is touched.
"""

from __future__ import annotations

import numpy as np

from neurosage.core.validate import check_arguments

__all__ = ["derive_seed"]


def derive_seed(seed: int, *path: int) -> int:
    """A seed in ``[0, 2**31 - 1)`` for the sub-task ``path`` of the run seeded with ``seed``."""
    check_arguments(derive_seed, locals())
    return int(np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, path)])).integers(2**31 - 1))
