import logging

from neurosage.core.once import warn_once


def test_a_warning_is_said_once_per_key_and_logger(caplog):
    log = logging.getLogger("neurosage.tests.once")
    with caplog.at_level(logging.WARNING, logger=log.name):
        assert warn_once(log, ("k", 1), "value %d", 1) is True
        assert warn_once(log, ("k", 1), "value %d", 1) is False
        assert warn_once(log, ("k", 2), "value %d", 2) is True
        assert warn_once(logging.getLogger("neurosage.tests.once.other"), ("k", 1), "other %d", 1) is True
    assert [r.getMessage() for r in caplog.records] == ["value 1", "value 2", "other 1"]


def test_an_unhashable_object_is_keyed_by_its_id_and_held(caplog):
    log = logging.getLogger("neurosage.tests.once.about")
    first, second = {"a": 1}, {"a": 1}  # equal but distinct configs: each is warned about once
    with caplog.at_level(logging.WARNING, logger=log.name):
        assert warn_once(log, "text", "text", about=first)
        assert not warn_once(log, "text", "text", about=first)
        assert warn_once(log, "text", "text", about=second)
    assert len(caplog.records) == 2
