"""
Benchmark of async test methods in Django's SimpleTestCase.

Usage: python tests.py [--rounds N] [--leak-tests N]

Measures, in one process and interleaved in rounds (median of the rounds):
- an empty sync test in SimpleTestCase (the unit for all ratios),
- an empty async test in SimpleTestCase,
- a bare async_to_sync() call (not a test), for reference,
- an empty async test in unittest.IsolatedAsyncioTestCase,
- an empty async test with an async setUp() and with a sync setUp() (when
  the tree supports async setUp()),
then runs --leak-tests async tests in one suite and compares threads, file
descriptors, event loops, tasks and context variables before and after, and
the cost per test of the first and last 1,000 tests.
"""
import argparse
import asyncio
import contextvars
import gc
import os
import statistics
import sys
import threading
import time
import unittest
import warnings

import django
from asgiref.sync import async_to_sync
from django.conf import settings

settings.configure(DATABASES={}, INSTALLED_APPS=[], USE_TZ=False)
django.setup()

from django.test import SimpleTestCase  # NOQA isort:skip


class SyncTests(SimpleTestCase):
    def test(self):
        pass


class AsyncTests(SimpleTestCase):
    async def test(self):
        pass


class SyncSetUpAsyncTests(SimpleTestCase):
    def setUp(self):
        pass

    async def test(self):
        pass


def async_set_up_class():
    """
    Return a class with an async setUp(), or None if the Django in use
    doesn't support it (it then rejects the class, or never runs setUp()).
    """
    try:
        class AsyncSetUpAsyncTests(SimpleTestCase):
            async def setUp(self):
                self.set_up_ran = True

            async def test(self):
                pass
    except TypeError:
        return None
    test = AsyncSetUpAsyncTests('test')
    with warnings.catch_warnings():
        # "coroutine ... was never awaited" where setUp() is called
        # synchronously.
        warnings.simplefilter('ignore', RuntimeWarning)
        test(unittest.TestResult())
        gc.collect()
    return AsyncSetUpAsyncTests if getattr(test, 'set_up_ran', False) else None


if sys.version_info >= (3, 8):
    class IsolatedTests(unittest.IsolatedAsyncioTestCase):  # novermin
        async def test(self):
            pass
else:
    IsolatedTests = None


async def noop():
    pass


class BareAsyncToSync:
    """Not a test: a bare async_to_sync() call, for reference."""
    def __init__(self, name):
        pass

    def __call__(self, result):
        async_to_sync(noop)()


def run(cls, number):
    """Return the mean time per test, in microseconds."""
    tests = [cls('test') for _ in range(number)]
    result = unittest.TestResult()
    start = time.perf_counter()
    if cls is BareAsyncToSync:
        for test in tests:
            test(result)
    else:
        unittest.TestSuite(tests).run(result)
    elapsed = time.perf_counter() - start
    if not result.wasSuccessful():
        raise RuntimeError(result.errors + result.failures)
    return elapsed / number * 1e6


def count_fds():
    try:
        return len(os.listdir('/proc/self/fd'))
    except FileNotFoundError:
        return None


def count_objects(cls):
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, cls))


def snapshot():
    # Let the last event loop's thread exit.
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.startswith('ThreadPoolExecutor'):
            thread.join(timeout=5)
    return {
        'threads': threading.active_count(),
        'fds': count_fds(),
        'event loops (open)': sum(
            1 for obj in gc.get_objects()
            if isinstance(obj, asyncio.AbstractEventLoop) and not obj.is_closed()
        ),
        'tasks': count_objects(asyncio.Task),
        'context variables': len(contextvars.copy_context()),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--sync-tests', type=int, default=5000)
    parser.add_argument('--async-tests', type=int, default=500)
    parser.add_argument('--leak-tests', type=int, default=10000)
    options = parser.parse_args()
    warnings.simplefilter('ignore', DeprecationWarning)

    kinds = [('empty sync test', SyncTests, options.sync_tests)]
    kinds.append(('empty async test', AsyncTests, options.async_tests))
    kinds.append(('bare async_to_sync() call', BareAsyncToSync, options.async_tests))
    if IsolatedTests is not None:
        kinds.append(('IsolatedAsyncioTestCase', IsolatedTests, options.async_tests))
    AsyncSetUpTests = async_set_up_class()
    if AsyncSetUpTests is not None:
        kinds.append(('async test, sync setUp', SyncSetUpAsyncTests, options.async_tests))
        kinds.append(('async test, async setUp', AsyncSetUpTests, options.async_tests))

    print('Python %s, Django %s, asgiref %s' % (
        sys.version.split()[0], django.get_version(), __import__('asgiref').__version__,
    ))
    # Leaks and flatness, first: IsolatedAsyncioTestCase changes the main
    # thread's event loop.
    number = options.leak_tests
    block = min(1000, number)
    initial = snapshot()
    run(AsyncTests, 1)
    before = snapshot()
    tests = [AsyncTests('test') for _ in range(number)]
    result = unittest.TestResult()
    stamps = []

    def start_test(test, _start=result.startTest):
        stamps.append(time.perf_counter())
        _start(test)

    result.startTest = start_test
    unittest.TestSuite(tests).run(result)
    stamps.append(time.perf_counter())
    del tests
    if not result.wasSuccessful():
        raise RuntimeError(result.errors + result.failures)
    after = snapshot()
    first = (stamps[block] - stamps[0]) / block * 1e6
    last = (stamps[-1] - stamps[-1 - block]) / block * 1e6
    print('%d async tests: first %d %.1f us/test, last %d %.1f us/test (%.2fx)' % (
        number, block, first, block, last, last / first,
    ))
    print('  us/test per block of %d: %s' % (block, ' '.join(
        '%.0f' % ((stamps[min(i + block, number)] - stamps[i]) / (min(i + block, number) - i) * 1e6)
        for i in range(0, number, block)
    )))
    print('  (initial: before any async test; before: after one async test)')
    for key in before:
        print('  %-20s initial %s before %s after %s' % (key, initial[key], before[key], after[key]))

    # Warm up.
    for name, cls, number in kinds:
        run(cls, 50)
    times = {name: [] for name, cls, number in kinds}
    for round_ in range(options.rounds):
        for name, cls, number in kinds:
            times[name].append(run(cls, number))
    medians = {name: statistics.median(values) for name, values in times.items()}
    unit = medians['empty sync test']
    for name, cls, number in kinds:
        print('%-28s %9.1f us  %6.1fx sync  (min %.1f, max %.1f)' % (
            name, medians[name], medians[name] / unit, min(times[name]), max(times[name]),
        ))
    if IsolatedTests is not None:
        print('async / IsolatedAsyncioTestCase: %.2f' % (
            medians['empty async test'] / medians['IsolatedAsyncioTestCase']
        ))
    if AsyncSetUpTests is not None:
        print('async setUp / sync setUp: %.2f' % (
            medians['async test, async setUp'] / medians['async test, sync setUp']
        ))


if __name__ == '__main__':
    main()
