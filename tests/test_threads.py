"""``cr.set_num_threads`` / ``cr.num_threads``: chainrule's thread pool follows the switch."""

from __future__ import annotations

import pytest

import chainrule as cr


def test_context_manager_sets_and_restores():
    before = cr.get_num_threads()
    with cr.num_threads(1):
        assert cr.get_num_threads() == 1
    assert cr.get_num_threads() == before


def test_set_num_threads_returns_the_previous_setting():
    before = cr.get_num_threads()
    try:
        assert cr.set_num_threads(1) == before
        assert cr.get_num_threads() == 1
    finally:
        cr.set_num_threads(before)
    assert cr.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="positive integer"):
        cr.set_num_threads(bad)
    with pytest.raises(ValueError, match="positive integer"), cr.num_threads(bad):
        pass
