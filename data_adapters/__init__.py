"""Dataset adapters: the ``DATASETS`` registry and one module per source (recordings as assemblies, images as ``ImageSet``)."""
