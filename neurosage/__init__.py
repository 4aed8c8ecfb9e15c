"""neurosage: brain-guided neural architecture search (TG-SAGE).

Modules, from the bottom up: :mod:`neurosage.assembly` (response assemblies),
:mod:`neurosage.rsa` (RDMs and comparisons), :mod:`neurosage.ops` and
:mod:`neurosage.space` (cell search space), :mod:`neurosage.network` (cell
networks), :mod:`neurosage.train`, :mod:`neurosage.teachers`,
:mod:`neurosage.score`, :mod:`neurosage.evaluate`, :mod:`neurosage.search`.
Importing the package loads nothing heavy.
"""

__version__ = "0.1.0"
