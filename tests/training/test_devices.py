"""Devices and threads."""


def test_more_candidate_threads_than_cores_warns_once_with_the_numbers(caplog):
    import os

    from neurosage.training.devices import check_threads

    many = (os.cpu_count() or 1) + 7
    with caplog.at_level("WARNING"):
        check_threads(many)
        check_threads(many)
    said = [r.getMessage() for r in caplog.records if "candidate-threads" in r.getMessage()]
    assert len(said) == 1 and f"candidate-threads = {many} is more than this machine's {os.cpu_count()} core(s)" in said[0]
