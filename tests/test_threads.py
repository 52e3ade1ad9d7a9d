"""The decode and encode threads around the network: order kept, memory bounded, errors never swallowed."""

import threading
import time

import pytest

from vidstyle.threads import background, consumed


def test_the_encoder_thread_takes_every_item_in_order_and_is_done_when_the_block_ends():
    seen: list[int] = []
    with consumed(lambda item: (time.sleep(0.001), seen.append(item)), 4) as put:
        for i in range(50):
            put(i)
    assert seen == list(range(50))


def test_the_encoder_thread_never_falls_more_than_its_bound_behind():
    release, seen = threading.Event(), []
    with consumed(lambda item: (release.wait(), seen.append(item)), 3) as put:
        waiting = []
        worker = threading.Thread(target=lambda: [put(i) or waiting.append(i) for i in range(10)])
        worker.start()
        time.sleep(0.3)
        assert len(waiting) <= 3 + 1  # the queue's 3, plus the one being consumed
        release.set()
        worker.join()
    assert seen == list(range(10))


def test_an_encoder_error_reaches_the_producer():
    def fail(item: int) -> None:
        if item == 3:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"), consumed(fail, 2) as put:
        for i in range(100):
            put(i)
            time.sleep(0.001)


def test_an_error_in_the_block_stops_the_encoder_without_draining_the_rest():
    seen = []
    with pytest.raises(KeyError), consumed(lambda item: (time.sleep(0.1), seen.append(item)), 8) as put:
        for i in range(5):
            put(i)
        raise KeyError("network failed")
    assert len(seen) <= 1  # the one already being encoded; 1..4 were dropped


def test_the_decoder_thread_stays_within_its_bound_and_passes_on_errors():
    made = []

    def frames():
        for i in range(100):
            made.append(i)
            if i == 20:
                raise ValueError("corrupt packet")
            yield i

    items = background(frames(), 4)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    time.sleep(0.2)
    assert len(made) <= 3 + 4 + 1
    with pytest.raises(ValueError, match="corrupt packet"):
        list(items)
