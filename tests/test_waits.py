"""Waits say what they waited for and why they stopped, in one line, whatever the code they were given does."""

import re

import pytest

from labkit import waits
from labkit.errors import LabkitError

pytestmark = pytest.mark.no_cloud


def test_a_wait_whose_state_stops_moving_stops_early_and_says_what_it_found(capsys):
    done = waits.wait_until("the queue to drain", lambda: False, lambda: "3 in the queue", stuck_after_s=0.3)
    assert done is False
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "waiting for the queue to drain..."
    assert re.fullmatch(
        r"stopped waiting for the queue to drain after 0 s: found 3 in the queue, unchanged for 0 s", printed[-1]
    )


def test_a_wait_that_times_out_says_it_gave_up_and_what_it_found_last(capsys):
    seen = iter(range(1000))
    assert waits.wait_until("a count", lambda: False, lambda: f"{next(seen)} counted", timeout_s=0.3) is False
    assert re.fullmatch(
        r"gave up waiting for a count after 0 s: found \d+ counted", capsys.readouterr().out.splitlines()[-1]
    )


def test_a_wait_returns_as_soon_as_it_is_done():
    states = iter([None, None, "ready"])
    assert waits.wait_for(
        "the service", lambda: ((state := next(states)), state or "starting"), 5, interval_s=0.01
    ) == ("ready")


def test_a_wait_for_an_outcome_the_next_cells_need_raises_one_line_on_giving_up():
    with pytest.raises(LabkitError) as gave_up:
        waits.wait_for("the namespace", lambda: (None, "not there yet"), 0.2, interval_s=0.05)
    assert str(gave_up.value) == "gave up waiting for the namespace after 0 s: found not there yet"


def test_code_that_raises_while_waited_on_is_named_in_one_line_not_a_traceback_through_labkit():
    queues = {"notifications": "url"}
    with pytest.raises(LabkitError) as stopped:
        waits.wait_until("the events to reach the queues", lambda: queues["inventory"] == "url")
    assert str(stopped.value) == (
        "stopped waiting for the events to reach the queues: your code raised KeyError: 'inventory' "
        "(test_waits.py, line 47)"
    )
    assert stopped.value.__cause__ is None and stopped.value.__suppress_context__
