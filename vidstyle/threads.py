"""Bounded background threads: decoding and encoding overlap the network without ever buffering a whole video."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def background(items: Iterable[T], maxsize: int) -> Generator[T, None, None]:
    """Iterate `items` in a thread, at most `maxsize` ahead of the consumer; errors surface in the consumer.

    Closing the returned generator (or an exception in the consumer) stops the thread promptly.
    """
    q: queue.Queue = queue.Queue(maxsize)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item):
                    break
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close:
                close()
            put(_DONE)

    thread = threading.Thread(target=run, name="vidstyle-producer", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def consumed(consume: Callable[[T], None], maxsize: int) -> Iterator[Callable[[T], None]]:
    """A `put` whose items `consume` takes in a thread, at most `maxsize` waiting: the encoder's side of
    `background`. Leaving the block waits until every item is consumed; an error in `consume` is raised at
    the next `put` or on leaving, and an error in the block stops the thread without consuming the rest.
    """
    q: queue.Queue = queue.Queue(maxsize)
    errors: list[BaseException] = []
    cancel = threading.Event()

    def run() -> None:
        while (item := q.get()) is not _DONE:
            if errors or cancel.is_set():
                continue  # keep draining, so `put` never blocks on a dead consumer
            try:
                consume(item)
            except BaseException as exc:  # handed to the producer, which re-raises it
                errors.append(exc)

    def put(item: T) -> None:
        if errors:
            raise errors[0]
        q.put(item)

    thread = threading.Thread(target=run, name="vidstyle-consumer", daemon=True)
    thread.start()
    try:
        yield put
    except BaseException:
        cancel.set()
        raise
    finally:
        q.put(_DONE)
        thread.join()
    if errors:
        raise errors[0]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
