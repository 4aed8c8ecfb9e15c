import numpy as np
import xarray as xr

from neurosage.figures.similarity_heatmap import plot_similarity


def test_heatmap_png_and_pdf(tmp_path):
    sim = xr.DataArray(np.array([[0.1, 0.5, 0.9], [0.3, 0.2, 0.4]]), dims=("endpoint", "layer"),
                       coords={"endpoint": ["V4", "IT"], "layer": ["cell_0", "cell_1", "cell_2"]})
    png = plot_similarity(sim, tmp_path / "out" / "s.png")
    assert png.read_bytes()[:4] == b"\x89PNG" and (tmp_path / "out" / "s.pdf").exists()
