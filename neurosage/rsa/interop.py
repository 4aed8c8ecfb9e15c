"""rsatoolbox interop: RDM stacks to and from :class:`rsatoolbox.rdm.RDMs`, every descriptor kept.

Mapping (both ways): the stack's ``rdm`` coord is rsatoolbox's ``name`` RDM descriptor, and every other coord along
``rdm`` (e.g. ``subject``, ``roi``) is an RDM descriptor of the same name; the condition labels are the pattern
descriptor named by the ``descriptor`` attr (``stimulus_id`` by default), and every other coord along
``condition_row`` (e.g. ``category``) is a pattern descriptor; rsatoolbox's RDMs-level ``descriptors`` are attrs
prefixed ``descriptor_``. rsatoolbox's automatic ``index`` descriptors are not copied.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from neurosage.assembly import STIMULUS_ID
from neurosage.core.errors import ConfigError
from neurosage.core.validate import check_arguments
from neurosage.rsa.methods import RDM_METHODS
from neurosage.rsa.rdm import COL, ROW, STACK, check_rdms, upper_triangle

__all__ = ["to_rsatoolbox", "from_rsatoolbox"]


def _rsatoolbox_measures() -> dict[str, str]:
    """Our RDM method -> rsatoolbox's ``dissimilarity_measure``: each registered method's ``rsatoolbox`` property, else its name."""
    return {e.name: e.rsatoolbox or e.name for e in RDM_METHODS.list()}


log = logging.getLogger(__name__)

_PREFIX = "descriptor_"
_ENCODED = "json_encoded_descriptors"
_ARRAYS = "array_descriptors"
#: An rsatoolbox descriptor marking RDMs made from one neurosage RDM (not a stack), so the round trip gives one RDM back.
_SINGLE = "neurosage_single_rdm"


def to_rsatoolbox(rdms: xr.DataArray) -> Any:
    """Convert one RDM or a stack to :class:`rsatoolbox.rdm.RDMs` (names, RDM and pattern descriptors kept)."""
    check_arguments(to_rsatoolbox, locals())
    from rsatoolbox.rdm import RDMs

    check_rdms(rdms, "rdms")
    single = STACK not in rdms.dims
    stack = rdms if not single else rdms.expand_dims({STACK: [str(rdms.attrs.get("name", "rdm"))]})
    descriptor = rdms.attrs.get("descriptor", STIMULUS_ID)
    method = rdms.attrs.get("method", "correlation")
    rdm_descriptors: dict[Hashable, Any] = {"name": [str(n) for n in stack[STACK].values]}
    rdm_descriptors.update({name: coord.values.tolist() for name, coord in stack.coords.items() if coord.dims == (STACK,) and name != STACK})
    patterns = {descriptor: stack[ROW].values.tolist()}
    patterns.update({name: coord.values.tolist() for name, coord in stack.coords.items() if coord.dims == (ROW,) and name != ROW})
    encoded = set(json.loads(rdms.attrs.get(_ENCODED, "[]")))
    arrays = set(json.loads(rdms.attrs.get(_ARRAYS, "[]")))
    descriptors = {k[len(_PREFIX):]: (np.asarray(json.loads(v)) if k in arrays else json.loads(v)) if k in encoded else v
                   for k, v in rdms.attrs.items() if k.startswith(_PREFIX)}
    if single:
        descriptors[_SINGLE] = True  # from_rsatoolbox gives one RDM back, not a stack of one
    return RDMs(
        dissimilarities=np.atleast_2d(upper_triangle(stack)),
        dissimilarity_measure=_rsatoolbox_measures().get(method, method),
        descriptors=descriptors,
        rdm_descriptors=rdm_descriptors,
        pattern_descriptors=patterns,
    )


def from_rsatoolbox(rdms: Any, descriptor: str | None = None) -> xr.DataArray:
    """Convert :class:`rsatoolbox.rdm.RDMs` to an ``rdm x row x col`` stack (every descriptor kept as a coord or attr).

    Parameters
    ----------
    descriptor
        Pattern descriptor holding the condition labels; it must exist. Default: ``stimulus_id`` when the RDMs have
        it, else their only descriptor besides ``index``, else rsatoolbox's ``index`` (0..n-1, logged). The stack is
        named by the ``name`` RDM descriptor, else by ``roi`` when its values are unique, else by position.
    """
    check_arguments(from_rsatoolbox, locals())
    if not hasattr(rdms, "get_matrices") or not hasattr(rdms, "pattern_descriptors"):
        raise ConfigError(f"from_rsatoolbox got a {type(rdms).__name__}, not rsatoolbox RDMs", "pass an rsatoolbox.rdm.RDMs object", field="rdms")
    if descriptor is None:
        others = [k for k in rdms.pattern_descriptors if k != "index"]
        key = STIMULUS_ID if STIMULUS_ID in others else others[0] if len(others) == 1 else "index"
        if key == "index":
            log.info("the RDMs have no %r pattern descriptor (they have %s): conditions are labelled by rsatoolbox's index (0..n-1)",
                     STIMULUS_ID, others or "none")
    elif descriptor not in rdms.pattern_descriptors:
        raise ConfigError(f"the RDMs have no pattern descriptor {descriptor!r} (they have {sorted(rdms.pattern_descriptors)})",
                          "give descriptor= one of those, or leave it out for stimulus_id (else rsatoolbox's index)", field="descriptor")
    else:
        key = descriptor
    labels = np.asarray(rdms.pattern_descriptors[key]) if key in rdms.pattern_descriptors else np.arange(rdms.n_cond)  # no descriptors
    rdm_desc = {k: list(v) for k, v in rdms.rdm_descriptors.items() if k != "index"}
    roi = rdm_desc.get("roi")
    names = rdm_desc.pop("name", None) or (roi if roi is not None and len(set(map(str, roi))) == len(roi) else [str(i) for i in range(rdms.n_rdm)])
    measure = {v: k for k, v in _rsatoolbox_measures().items()}.get(rdms.dissimilarity_measure, rdms.dissimilarity_measure)
    coords: dict[str, Any] = {STACK: [str(n) for n in names], ROW: labels, COL: labels}
    coords.update({k: (STACK, np.asarray(v)) for k, v in rdm_desc.items()})
    coords.update({k: (ROW, np.asarray(v)) for k, v in rdms.pattern_descriptors.items() if k not in (key, "index")})
    attrs = {"method": measure, "descriptor": key}
    descriptors = getattr(rdms, "descriptors", None) or {}
    encoded = [_PREFIX + k for k, v in descriptors.items()
               if isinstance(v, (bool, np.bool_)) or not isinstance(v, (str, int, float, np.integer, np.floating))]
    attrs.update({_PREFIX + k: json.dumps(v.tolist() if isinstance(v, np.ndarray) else v, default=str) if _PREFIX + k in encoded else v
                  for k, v in descriptors.items()})
    if encoded:
        attrs[_ENCODED] = json.dumps(encoded)  # the descriptors stored as JSON text, decoded on the way back (no other string is)
    arrays = [_PREFIX + k for k, v in descriptors.items() if isinstance(v, np.ndarray)]
    if arrays:
        attrs[_ARRAYS] = json.dumps(arrays)  # those of them that were arrays (e.g. crossnobis' noise): arrays again on the way back
    single = bool(attrs.pop(_PREFIX + _SINGLE, False)) and rdms.n_rdm == 1
    out = xr.DataArray(rdms.get_matrices(), dims=(STACK, ROW, COL), coords=coords, attrs={k: v for k, v in attrs.items() if v is not None})
    return out.isel({STACK: 0}, drop=True) if single else out

