"""Registers this neurosage search trial in Brain-Score's model registry (a plugin written by ``neurosage export brainscore``).

Brain-Score finds a plugin by the text ``model_registry['<identifier>']`` in its ``__init__.py``, so the export writes
the identifier into this file in place of ``__IDENTIFIER__`` (the one placeholder of the plugin's templates).
"""

from brainscore_vision import model_registry
from brainscore_vision.model_helpers.brain_transformation import ModelCommitment

from .model import REGION_LAYER_MAP, get_layers, get_model

model_registry['__IDENTIFIER__'] = lambda: ModelCommitment(
    identifier='__IDENTIFIER__', activations_model=get_model(), layers=get_layers(), region_layer_map=dict(REGION_LAYER_MAP),
)
