"""Machinery every other part uses: the registry idiom, errors, seeding, atomic writes, lazy exports.

Standard library and numpy only.
"""

from neurosage.core.lazy import lazy_exports

_EXPORTS = {
    "Registry": "registry", "Entry": "registry", "resolve": "registry", "check_contract": "registry",
    "NeurosageError": "errors", "UnknownName": "errors", "ConfigError": "errors", "RunFolderError": "errors",
    "RunFolderExists": "errors", "SearchFailed": "errors", "DataFormatError": "errors",
    "derive_seed": "seeding", "atomic_path": "atomic", "write_text": "atomic", "write_json": "atomic",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
