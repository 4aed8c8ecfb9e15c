"""Simulated recordings ("virtual electrophysiology") from network activations.

Sites are units sampled from chosen layers; each site's noise-free response is
its unit's activation, standardised across stimuli. Trials add Gaussian noise
whose size sets the *reliability* of the trial-averaged response:

    reliability = var(signal) / (var(signal) + var(noise) / n_repetitions)

so a site with reliability 0.8 and 10 repetitions has single-trial noise SD
``sqrt(10 * (1 - 0.8) / 0.8)`` signal SDs. The result is an assembly exactly
like a real recording (one presentation per trial, ``repetition`` coord,
regions named by the user), ready for :func:`neurosage.assembly.average_repetitions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from neurosage.assembly import make_assembly
from neurosage.core.errors import DataFormatError

__all__ = ["simulate_recording", "noise_sd"]


def noise_sd(reliability: float, n_repetitions: int) -> float:
    """Single-trial noise SD (in signal SDs) giving ``reliability`` after averaging ``n_repetitions``."""
    if not 0 < reliability <= 1:
        raise DataFormatError(f"reliability must be in (0, 1], got {reliability}", "pass e.g. reliability=0.8", file=None, field="reliability")
    if isinstance(n_repetitions, bool) or not isinstance(n_repetitions, (int, np.integer)) or n_repetitions < 1:
        raise DataFormatError(f"n_repetitions must be a positive integer, got {n_repetitions!r}", "pass e.g. n_repetitions=10", file=None,
                              field="n_repetitions")
    return float(np.sqrt(n_repetitions * (1.0 - reliability) / reliability))


def simulate_recording(
    activations: Mapping[str, np.ndarray],
    stimulus_ids: Sequence[str],
    *,
    n_sites: int | Mapping[str, int] = 100,
    reliability: float = 0.8,
    n_repetitions: int = 10,
    seed: int | np.random.Generator | None = 0,
    presentation_coords: Mapping[str, Sequence] | None = None,
) -> xr.DataArray:
    """A noisy multi-trial recording of units sampled from network layers.

    Parameters
    ----------
    activations
        Region name -> ``(n_stimuli, n_features)`` activations of the layer that
        plays that region (e.g. ``{"V4": layer2, "IT": layer3}``).
    stimulus_ids
        One id per stimulus (row of the activations).
    n_sites
        Sites per region (an int for all, or per region); capped by the features available.
    reliability, n_repetitions
        Trial-averaged reliability of every site, and trials per stimulus.
    seed
        Seeds the site sampling and the noise.
    """
    counts = n_sites.values() if isinstance(n_sites, Mapping) else [n_sites]
    if any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in counts):
        raise DataFormatError(f"n_sites must be positive integers, got {n_sites!r}", "pass e.g. n_sites=100 or {'V4': 88, 'IT': 168}", file=None,
                              field="n_sites")
    if isinstance(n_sites, Mapping) and set(n_sites) != set(activations):
        raise DataFormatError(f"n_sites names regions {sorted(n_sites)}, the activations {sorted(activations)}", "give one site count per region",
                              file=None, field="n_sites")
    rng = np.random.default_rng(seed)
    sd = noise_sd(reliability, n_repetitions)
    n_stim = len(stimulus_ids)
    signals, regions, site_ids, units = [], [], [], []
    for region, acts in activations.items():
        acts = np.asarray(acts, dtype=np.float64)
        acts = acts.reshape(acts.shape[0], -1)
        if acts.shape[0] != n_stim:
            raise DataFormatError(f"region {region!r}: {acts.shape[0]} rows of activations for {n_stim} stimulus ids", "give one row per stimulus",
                                  file=None, field="activations")
        k = n_sites[region] if isinstance(n_sites, Mapping) else n_sites
        std = acts.std(axis=0)
        candidates = np.flatnonzero(std > 0)
        if len(candidates) == 0:
            raise DataFormatError(f"region {region!r}: every unit is constant across stimuli; no site can be simulated",
                                  "use a layer that responds to the stimuli", file=None, field="activations")
        chosen = np.sort(rng.choice(candidates, size=min(k, len(candidates)), replace=False))
        signal = (acts[:, chosen] - acts[:, chosen].mean(axis=0)) / std[chosen]
        signals.append(signal)
        regions += [region] * len(chosen)
        site_ids += [f"sim_{region}_{u}" for u in chosen]
        units.append(chosen)
    signal = np.concatenate(signals, axis=1)
    trials = np.concatenate([signal + rng.normal(scale=sd, size=signal.shape) for _ in range(n_repetitions)])
    pres = {"repetition": np.repeat(np.arange(n_repetitions), n_stim)}
    for key, col in (presentation_coords or {}).items():
        pres[key] = np.tile(np.asarray(col), n_repetitions)
    return make_assembly(
        trials,
        stimulus_id=np.tile(np.asarray(stimulus_ids), n_repetitions),
        region=regions,
        neuroid_id=site_ids,
        presentation_coords=pres,
        neuroid_coords={"unit_index": np.concatenate(units)},
        name="simulated",
        attrs={"reliability": reliability, "n_repetitions": n_repetitions},
    )
