"""wait_for and stays themselves: what they return, how soon they fail, what their failure says."""

import time

import pytest

from support import stays, wait_for

pytestmark = pytest.mark.no_cloud


def test_wait_for_returns_the_first_truthy_value():
    answers = iter([None, [], {"ready": True}])
    assert wait_for(lambda: next(answers), 5, "a ready answer", interval=0) == {"ready": True}


def test_wait_for_gives_up_naming_what_it_waited_for_and_the_last_value():
    with pytest.raises(AssertionError, match=r"gave up after 0\.2 s waiting for the queue to empty; last value 0$"):
        wait_for(lambda: 0, 0.2, "the queue to empty")


def test_wait_for_lets_an_exception_from_the_condition_through_at_once():
    def stopped():
        raise AssertionError("the task stopped")

    started = time.monotonic()
    with pytest.raises(AssertionError, match="the task stopped"):
        wait_for(stopped, 30, "the task to run")
    assert time.monotonic() - started < 1


def test_stays_polls_for_the_whole_period_when_the_condition_holds():
    calls = []
    started = time.monotonic()
    stays(lambda: calls.append(1) or True, 0.3, "quiet")
    assert time.monotonic() - started >= 0.3 and len(calls) > 2


def test_stays_fails_as_soon_as_the_condition_is_false():
    moments = iter([True, True, False])
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"expected no fourth attempt throughout 30 s, but after 0\.\d\d s"):
        stays(lambda: next(moments), 30, "no fourth attempt")
    assert time.monotonic() - started < 1
