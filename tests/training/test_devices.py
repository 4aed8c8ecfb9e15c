"""Devices and threads."""


def test_more_candidate_threads_than_cores_warns_once_with_the_numbers(caplog):
    import os

    from neurosage.training.devices import check_threads

    many = (os.cpu_count() or 1) + 7
    with caplog.at_level("WARNING"):
        check_threads(many)
        check_threads(many)
    said = [r.getMessage() for r in caplog.records if "candidate-threads" in r.getMessage()]
    assert len(said) == 1 and f"candidate-threads = {many} is more than the {os.cpu_count()} core(s) of this machine" in said[0]


def test_threads_of_a_slurm_search_are_compared_with_the_jobs_cores(caplog):
    """Round 6 #53: --slurm-cores 1 --candidate-threads 4 was compared with the driver machine's cores."""
    from neurosage.analyses.embedded import check_config
    from neurosage.analyses.settings import SearchConfig

    with caplog.at_level("WARNING"):
        check_config(SearchConfig(slurm_jobs=1, slurm_cores=1, candidate_threads=3))
    assert "candidate-threads = 3 is more than the 1 core(s) of each Slurm job (--slurm-cores)" in caplog.text
    assert "this machine" not in caplog.text
