"""neurosage: brain-guided neural architecture search (TG-SAGE).

The front door: the names a user starts from, loaded when first touched (``import neurosage`` imports
no torch). Everything else lives in one subpackage per concept, bottom-up: :mod:`neurosage.core`
(registry, errors, seeding, atomic writes), :mod:`neurosage.assembly` (the data currency),
:mod:`neurosage.data_adapters`, :mod:`neurosage.rsa`, :mod:`neurosage.spaces`, :mod:`neurosage.nets`,
:mod:`neurosage.training`, :mod:`neurosage.teachers`, :mod:`neurosage.runs`, :mod:`neurosage.search`,
:mod:`neurosage.channels`; the application (:mod:`neurosage.analyses`, :mod:`neurosage.figures`, the CLI)
sits on top. ``docs/architecture.md`` draws the house.

Examples
--------
>>> import neurosage
>>> space = neurosage.get_space("pnas", n_blocks=2)
>>> net = neurosage.build_network(space.sample(0), filters=8, n_cells=1)  # doctest: +SKIP
"""

from neurosage.core.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    # data
    "make_assembly": "assembly", "average_repetitions": "assembly", "load_neural": "data_adapters.registry", "load_images": "data_adapters.registry",
    "list_datasets": "data_adapters.registry", "ImageSet": "data_adapters.imageset",
    # RSA
    "compute_rdm": "rsa.rdm", "compute_rdms": "rsa.rdm", "compare_rdms": "rsa.compare",
    "to_rsatoolbox": "rsa.interop", "from_rsatoolbox": "rsa.interop",
    # teachers
    "Teacher": "teachers.teacher", "brain_teacher": "teachers.teacher", "network_teacher": "teachers.teacher",
    "teacher_from_spec": "teachers.kinds", "score_model": "teachers.scoring", "compare_model": "analyses.model_comparison",
    "kept_network": "search.weights",
    # spaces and networks
    "get_space": "spaces", "parse_genotype": "spaces", "build_network": "nets.build", "build_model": "nets.models",
    "count_parameters": "nets.measure", "count_flops": "nets.measure",
    # training and search
    "NetworkConfig": "training.configs", "TrainConfig": "training.configs", "RDMOptions": "training.configs",
    "train": "training.loop", "CandidateTask": "search.candidate", "run_search": "search.driver", "load_trials": "runs.trials",
    # errors
    "NeurosageError": "core.errors",
}
__all__ = sorted([*_EXPORTS, "__version__"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
