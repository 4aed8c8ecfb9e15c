"""Shared hypothesis strategies for the boundary tests: inputs a user could pass by mistake, and the one rule they
must meet (a :class:`~neurosage.core.errors.NeurosageError` naming a field and a fix, or a finite, correct result)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from neurosage.core.errors import NeurosageError

#: Bounded: every boundary test of the default suite together stays well under a minute.
BOUNDED = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
special = st.sampled_from([math.nan, math.inf, -math.inf])


def vectors(min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[Any]:
    """What a user might pass where a vector of numbers is wanted: good vectors, and every kind of mistake."""
    good = st.lists(finite, min_size=min_size, max_size=max_size)
    with_special = st.lists(st.one_of(finite, special), min_size=max(min_size, 1), max_size=max_size).filter(
        lambda v: any(not math.isfinite(x) for x in v))
    constant = st.builds(lambda x, n: [x] * n, finite, st.integers(0, max_size))
    wrong_type = st.sampled_from(["1,2,3", None, {"a": 1}, object(), b"abc", [["a", "b"]], [[1.0, 2.0], [3.0, 4.0]], 3.5])
    return st.one_of(good, with_special, constant, wrong_type, st.builds(np.array, good))


def clear_or_correct(call: Callable[[], Any]) -> Any:
    """Run ``call``: a NeurosageError must name its field and give a fix (returns None); anything else it returns."""
    try:
        return call()
    except NeurosageError as err:
        assert "fix:" in str(err), str(err)
        assert err.field, f"no field named: {err}"
        return None
