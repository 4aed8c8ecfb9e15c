"""Channel-size search in the style of CONetV2: channel groups of any model, resizing that keeps
weights, layer metrics (QC or the teacher's RDM similarity), and the search rules."""

from neurosage.core.lazy import lazy_exports

_EXPORTS = {
    "ChannelGroup": "groups", "ChannelGraph": "groups", "ModuleChannels": "groups", "channel_groups": "groups",
    "resize_channels": "resize",
    "evbmf": "metrics", "LayerQuality": "metrics", "layer_quality": "metrics", "quality_from_singular_values": "metrics",
    "teacher_layer_scores": "metrics",
    "ChannelSearchConfig": "search", "ChannelSearchResult": "search", "run_channel_search": "search", "next_sizes": "search",
    "group_metrics": "search", "round_even": "search",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
