"""rsatoolbox interop: RDM stacks to and from :class:`rsatoolbox.rdm.RDMs`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from neurosage.assembly import STIMULUS_ID
from neurosage.rsa.rdm import COL, ROW, STACK, upper_triangle

__all__ = ["to_rsatoolbox", "from_rsatoolbox"]


_RSATOOLBOX_MEASURE = {
    "correlation": "correlation",
    "cosine": "cosine",
    "euclidean": "euclidean",
    "sqeuclidean": "squared euclidean",
}


def to_rsatoolbox(rdms: xr.DataArray) -> Any:
    """Convert one RDM or a stack to :class:`rsatoolbox.rdm.RDMs`.

    The condition labels become the pattern descriptor named by the RDM's
    ``descriptor`` attr (``stimulus_id`` by default); stack names become the
    ``name`` RDM descriptor.
    """
    from rsatoolbox.rdm import RDMs

    stack = rdms if STACK in rdms.dims else rdms.expand_dims({STACK: ["rdm"]})
    descriptor = rdms.attrs.get("descriptor", STIMULUS_ID)
    method = rdms.attrs.get("method", "correlation")
    return RDMs(
        dissimilarities=np.atleast_2d(upper_triangle(stack)),
        dissimilarity_measure=_RSATOOLBOX_MEASURE.get(method, method),
        rdm_descriptors={"name": [str(n) for n in stack[STACK].values]},
        pattern_descriptors={descriptor: list(stack[ROW].values)},
    )


def from_rsatoolbox(rdms: Any, descriptor: str = STIMULUS_ID) -> xr.DataArray:
    """Convert :class:`rsatoolbox.rdm.RDMs` to an ``rdm x row x col`` stack.

    Parameters
    ----------
    descriptor
        Pattern descriptor holding the condition labels; falls back to ``index``.
    """
    key = descriptor if descriptor in rdms.pattern_descriptors else "index"
    labels = np.asarray(rdms.pattern_descriptors[key])
    names = rdms.rdm_descriptors.get("name") or [str(i) for i in range(rdms.n_rdm)]
    measure = {v: k for k, v in _RSATOOLBOX_MEASURE.items()}.get(rdms.dissimilarity_measure, rdms.dissimilarity_measure)
    return xr.DataArray(
        rdms.get_matrices(),
        dims=(STACK, ROW, COL),
        coords={STACK: list(names), ROW: labels, COL: labels},
        attrs={"method": measure, "descriptor": key},
    )
