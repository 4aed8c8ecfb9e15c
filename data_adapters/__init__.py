"""data_adapters package."""
