"""neurosage: brain-guided neural architecture search (TG-SAGE).

Modules, from the bottom up: :mod:`neurosage.assembly` (response assemblies),
:mod:`neurosage.rsa.rdm.rdm` (RDMs and comparisons), :mod:`neurosage.nets.ops` and
:mod:`neurosage.spaces.cell` (cell search space), :mod:`neurosage.nets.cells` (cell
networks), :mod:`neurosage.training.loop`, :mod:`neurosage.teachers.teacher.teacher`,
:mod:`neurosage.rsa.rdm.score`, :mod:`neurosage.search.driver.candidate`, :mod:`neurosage.search.driver.driver`.
Importing the package loads nothing heavy.
"""

__version__ = "0.1.0"
