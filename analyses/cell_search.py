"""Teacher-guided cell search with post-search reranking (paper section 4.3, Tables 2 and 3).

One TPE search scored by P + alpha * TG (M1 samples of E1 training examples
each), reranking of the top-``k`` cells by longer training (M2 = k samples of
E2 examples), and the final training of the winner. The row reports B, N, F,
params, FLOPs, top-1/top-5 test error, M1, E1, M2, E2 and the cost in
examples M1*E1 + M2*E2, as in Table 2.

Outputs in ``<run>/cell_search/``: the search folder, ``rerank.csv``, ``table_cells.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from neurosage.analyses.embedded import embedded_setup
from neurosage.analyses.results import CELL_RERANK, CELL_TABLE, write_table
from neurosage.analyses.search_protocol import (
    RerankedSearchConfig,
    objective_searches,
    recorded,
    rerank_and_finalize,
    table_row,
)
from neurosage.search.executors import executor_for

__all__ = ["CellSearchConfig", "run"]


@dataclass(frozen=True)
class CellSearchConfig(RerankedSearchConfig):
    """One search scored by ``objective`` (default P + alpha TG), then reranking and final training."""


@recorded("cell_search")
def run(run_dir: str | Path, config: CellSearchConfig = CellSearchConfig(), *, client=None) -> pd.DataFrame:
    """The search, its reranking and final training; with ``client`` (a running Dask cluster) every training runs on it."""
    config.check_final_params()
    run_dir = Path(run_dir)
    out = run_dir / "cell_search"
    setup = embedded_setup(config, run_dir, with_teacher=config.objective != "p")
    network = config.network
    result = objective_searches(
        out, setup, config, network, config.search_space, {"search": config.objective}, seed=config.seed, device=config.device, client=client,
    )["search"]
    with executor_for(client=client) as executor:
        rerank, final = rerank_and_finalize(result.trials, setup, config, seed=config.seed, device=config.device, executor=executor)
    row = table_row(f"TG-SAGE ({config.objective})", config, result, rerank, final)
    write_table(run_dir, CELL_RERANK, pd.DataFrame(rerank))
    table = pd.DataFrame([row])
    write_table(run_dir, CELL_TABLE, table)
    return table
