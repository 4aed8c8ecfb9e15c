"""Teachers: named endpoints (brain regions or network layers) with RDMs on one stimulus set, the kinds
a spec can name (``net:``, ``brain:``, ``sim:``, plug-ins), and the model -> RDMs -> scores chain.

Registry: :data:`TEACHER_KINDS`. A kind is a callable following :class:`TeacherKind`; plug-ins register
through the entry-point group ``neurosage.teacher_kinds`` (a callable run once that calls
``TEACHER_KINDS.register``).
"""

from __future__ import annotations

from typing import Any, Protocol

from neurosage.core.lazy import lazy_exports
from neurosage.core.registry import Registry


class TeacherKind(Protocol):
    """A teacher kind: ``kind(spec, args, stimuli, device=..., seed=..., dataset_kwargs=..., rdm_method=..., compare_method=...)
    -> Teacher``, with ``args`` the spec's ``:``-separated fields after the kind (extra keywords may be swallowed with ``**_``).

    ``rdm_method`` and ``compare_method`` are the RSA choices, checked names of :data:`neurosage.rsa.methods.RDM_METHODS` and
    :data:`~neurosage.rsa.methods.COMPARE_METHODS`; the teacher must carry them (``Teacher.rdm_method``, ``.compare_method``),
    or it is refused: it would score candidates another way than asked.
    """

    def __call__(self, spec: str, args: list[str], stimuli: Any, *, device: str | None, seed: int, dataset_kwargs: dict[str, Any],
                 rdm_method: str, compare_method: str) -> Any:
        """Build the teacher the spec names, its RDMs by ``rdm_method``, to be compared by ``compare_method``."""


def _register_builtins() -> None:
    """The built-in kinds, as lazy ``module:function`` targets (listing them imports no torch)."""
    kinds = "neurosage.teachers.kinds"
    TEACHER_KINDS.register("net", f"{kinds}:net_teacher", description="layers of a network: net:<model>:<layer,...>[:<weights.pt>]")
    TEACHER_KINDS.register("brain", f"{kinds}:recording_teacher", description="regions of a registered neural dataset: brain:<dataset>:<region,...>")
    TEACHER_KINDS.register(
        "sim", f"{kinds}:simulated_teacher",
        description="simulated recording of network layers: sim:<model>:<region=layer,...>[:<weights.pt>] "
                    "(100 sites per region, reliability 0.8, 10 repetitions)",
    )
    TEACHER_KINDS.register(
        "control", "neurosage.teachers.controls:control_teacher",
        description="a control teacher: control:pixels, control:category (labels), "
                    "control:untrained:<model>:<layer,...>[:<weights>] (random weights, seeded)",
    )


#: Teacher kinds by name (the part of a spec before the first ``:``); each follows :class:`TeacherKind`.
TEACHER_KINDS: Registry[TeacherKind] = Registry(
    "teacher kind", builtins=(_register_builtins,), entry_point_group="neurosage.teacher_kinds",
    contract=TeacherKind, contract_applies_to="factory",
)

_EXPORTS = {
    "Teacher": "teacher", "brain_teacher": "teacher", "network_teacher": "teacher",
    "score_model": "scoring",
    "teacher_from_spec": "kinds", "teacher_provenance": "kinds",
    "pixel_teacher": "controls", "category_teacher": "controls", "untrained_teacher": "controls", "score_model_beyond": "controls",
}
__all__ = sorted([*_EXPORTS, "TEACHER_KINDS", "TeacherKind"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
