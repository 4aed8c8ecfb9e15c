import os
import signal

import pytest

from neurosage.core.interrupts import Interrupted, exit_code, terminate_as_interrupt


def test_sigterm_becomes_an_interrupt_with_exit_code_143_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt) as caught, terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
    assert isinstance(caught.value, Interrupted) and exit_code(caught.value) == 143 and str(caught.value) == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before
    assert exit_code(KeyboardInterrupt()) == 130


def test_a_signal_inside_a_deferred_block_waits_for_its_end():
    from neurosage.core.interrupts import deferred

    finished = []
    with pytest.raises(Interrupted) as caught, terminate_as_interrupt():
        with deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished.append("bookkeeping done")  # not cut in two
        finished.append("never reached")
    assert finished == ["bookkeeping done"] and exit_code(caught.value) == 130
