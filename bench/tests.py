"""
Benchmark of async test methods in Django's SimpleTestCase (issue 13's
targets for tests).

Usage: python tests.py [--rounds N] [--leak-tests N] [--base-tree PATH]
                       [--base-sdist PATH] [--pairs N] [--strict]

Runs --leak-tests async tests in one suite and compares threads, file
descriptors, event loops, tasks and context variables before and after, and
the cost per test of the first and last 1,000 tests. Then measures, in one
process and interleaved in rounds (median of the rounds; ratios are the median
of the per-round ratios):
- an empty sync test in SimpleTestCase,
- an empty async test in SimpleTestCase,
- a bare async_to_sync() call of an empty coroutine (not a test),
- an empty async test in unittest.IsolatedAsyncioTestCase,
- an empty async test with a sync setUp(), and with an asyncSetUp() when the
  Django in use runs it.
Target: empty async test / bare async_to_sync() <= 1.1x.

Last, the cost of an empty sync test against the unpatched base, the Django
3.0.14 sdist extracted in --base-tree (or extracted from --base-sdist into a
temporary directory): alternating subprocess runs of this script, with the
Django in use and with the base first on the path, each reporting its median
per test. Target: the Django in use / the base <= 1.05x (medians of the runs).
Only public APIs are used, so the script runs against any Django release.
"""
import argparse
import asyncio
import contextvars
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
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

BASE_VERSION = '3.0.14'
BASE_SDIST = os.path.join(
    os.environ.get('SERIES_CACHE') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache'),
        'django-series',
    ),
    'Django-%s.tar.gz' % BASE_VERSION,
)


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


class AsyncSetUpAsyncTests(SimpleTestCase):
    async def asyncSetUp(self):
        self.set_up_ran = True

    async def test(self):
        pass


def async_set_up_supported():
    """Whether the Django in use runs asyncSetUp() (Django 5.2 doesn't)."""
    test = AsyncSetUpAsyncTests('test')
    result = unittest.TestResult()
    with warnings.catch_warnings():
        # "coroutine ... was never awaited" where nothing awaits it.
        warnings.simplefilter('ignore', RuntimeWarning)
        test(result)
        gc.collect()
    return result.wasSuccessful() and getattr(test, 'set_up_ran', False)


class IsolatedTests(unittest.IsolatedAsyncioTestCase):
    async def test(self):
        pass


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
    gc.collect()
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


def leaks(number):
    """Run `number` async tests in one suite; return last / first 1000."""
    block = min(1000, number // 2)
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
    leaked = []
    for key in before:
        print('  %-20s initial %s before %s after %s' % (key, initial[key], before[key], after[key]))
        if after[key] != before[key]:
            leaked.append(key)
    return last / first, leaked


def sync_child(number, rounds):
    """Print the median time of an empty sync test, as JSON, for the parent."""
    run(SyncTests, 200)
    times = [run(SyncTests, number) for _ in range(rounds)]
    print(json.dumps({
        'django': django.__path__[0],
        'version': django.get_version(),
        'median': statistics.median(times),
    }))


def child_run(base_tree, number, rounds):
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    if base_tree:
        env['PYTHONPATH'] = base_tree
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), '--sync-child', str(number), '--rounds', str(rounds)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
    )
    if proc.returncode:
        raise ChildError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'exit %d' % proc.returncode)
    return json.loads(proc.stdout.strip().splitlines()[-1])


class ChildError(Exception):
    pass


def extract_base(sdist, directory):
    """Extract the sdist's top-level directory into directory; return it."""
    top = 'Django-%s' % BASE_VERSION
    with tarfile.open(sdist) as archive:
        members = [
            member for member in archive.getmembers()
            if member.name.split('/')[0] == top and '..' not in member.name.split('/') and
            (member.isfile() or member.isdir())
        ]
        if sys.version_info >= (3, 12):
            archive.extractall(directory, members, filter='data')  # novermin
        else:
            archive.extractall(directory, members)
    return os.path.join(directory, top)


def against_base(base_tree, pairs, number, rounds):
    """
    Alternate subprocess runs with the Django in use and with the base;
    return the ratio of their medians, or None if the base isn't there.
    """
    own, base = [], []
    for _ in range(pairs):
        own.append(child_run(None, number, rounds))
        base.append(child_run(base_tree, number, rounds))
    if base[0]['django'] != os.path.join(os.path.abspath(base_tree), 'django'):
        raise RuntimeError('The base run imported Django from %s.' % base[0]['django'])
    if own[0]['django'] != django.__path__[0]:
        raise RuntimeError('The child run imported Django from %s.' % own[0]['django'])
    own_median = statistics.median(run['median'] for run in own)
    base_median = statistics.median(run['median'] for run in base)
    print('Empty sync test, %d alternating subprocess runs each, medians per test (us):' % pairs)
    print('  %-16s %s' % (django.get_version(), ' '.join('%.2f' % run['median'] for run in own)))
    print('  %-16s %s  (%s)' % (
        'base ' + base[0]['version'], ' '.join('%.2f' % run['median'] for run in base), base_tree))
    print('  median %.2f us vs %.2f us; median of the paired ratios %.3f' % (
        own_median, base_median, statistics.median(a['median'] / b['median'] for a, b in zip(own, base)),
    ))
    return own_median / base_median


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--rounds', type=int, default=15)
    parser.add_argument('--sync-tests', type=int, default=2000)
    parser.add_argument('--async-tests', type=int, default=200)
    parser.add_argument('--leak-tests', type=int, default=10000)
    parser.add_argument('--base-tree', help='unpatched Django %s (default: extracted from --base-sdist)' % (
        BASE_VERSION))
    parser.add_argument('--base-sdist', default=BASE_SDIST, help='default: %(default)s')
    parser.add_argument('--pairs', type=int, default=10, help='alternating runs against the base')
    parser.add_argument('--strict', action='store_true', help='exit with status 1 if a target is missed')
    parser.add_argument('--sync-child', type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    warnings.simplefilter('ignore', DeprecationWarning)
    if options.sync_child:
        return sync_child(options.sync_child, options.rounds)

    print('Python %s, Django %s (%s), asgiref %s' % (
        sys.version.split()[0], django.get_version(), django.__path__[0], __import__('asgiref').__version__,
    ))
    results = []
    # Leaks and flatness, first: IsolatedAsyncioTestCase changes the main
    # thread's event loop.
    if options.leak_tests >= 2:
        growth, leaked = leaks(options.leak_tests)
        results.append(('%d async tests, last / first 1000' % options.leak_tests, growth, 1.1))
        if leaked:
            results.append(('%d async tests leaked %s' % (options.leak_tests, ', '.join(leaked)), 1, 0))

    kinds = [
        ('empty sync test', SyncTests, options.sync_tests),
        ('empty async test', AsyncTests, options.async_tests),
        ('bare async_to_sync() call', BareAsyncToSync, options.async_tests),
        ('IsolatedAsyncioTestCase', IsolatedTests, options.async_tests),
        ('async test, sync setUp', SyncSetUpAsyncTests, options.async_tests),
    ]
    if async_set_up_supported():
        kinds.append(('async test, asyncSetUp', AsyncSetUpAsyncTests, options.async_tests))
    # Warm up.
    for name, cls, number in kinds:
        run(cls, 50)
    times = {name: [] for name, cls, number in kinds}
    for round_ in range(options.rounds):
        for name, cls, number in kinds:
            times[name].append(run(cls, number))

    def ratio(numerator, denominator):
        return statistics.median(a / b for a, b in zip(times[numerator], times[denominator]))

    for name, cls, number in kinds:
        print('%-28s %9.1f us  %6.1fx sync  (min %.1f, max %.1f)' % (
            name, statistics.median(times[name]), ratio(name, 'empty sync test'), min(times[name]), max(times[name]),
        ))
    results.append(('empty async test / bare async_to_sync()',
                    ratio('empty async test', 'bare async_to_sync() call'), 1.1))
    information = [
        ('empty async test / IsolatedAsyncioTestCase', ratio('empty async test', 'IsolatedAsyncioTestCase')),
        ('empty async test / empty sync test', ratio('empty async test', 'empty sync test')),
    ]
    if 'async test, asyncSetUp' in times:
        information.append(('asyncSetUp / sync setUp', ratio('async test, asyncSetUp', 'async test, sync setUp')))

    base_tree, temporary = options.base_tree, None
    if base_tree is None and os.path.isfile(options.base_sdist):
        temporary = tempfile.mkdtemp(prefix='bench-base-')
        base_tree = extract_base(options.base_sdist, temporary)
    try:
        if base_tree is not None and options.pairs > 0:
            label = 'empty sync test, %s / unpatched %s' % (django.get_version(), BASE_VERSION)
            try:
                results.append((label, against_base(base_tree, options.pairs, options.sync_tests, 9), 1.05))
            except ChildError as exc:
                print('Empty sync test against unpatched %s: not measured, a run failed: %s' % (BASE_VERSION, exc))
        else:
            print('Empty sync test against unpatched %s: not measured, no --base-tree and no %s.' % (
                BASE_VERSION, options.base_sdist))
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)

    print('Targets (medians of the per-round ratios, %d rounds):' % options.rounds)
    missed = False
    for name, value, limit in results:
        held = value <= limit
        missed = missed or not held
        print('  %-52s %6.3fx  <= %.2fx  %s' % (name, value, limit, 'PASS' if held else 'FAIL'))
    for name, value in information:
        print('  %-52s %6.3fx  (for information)' % (name, value))
    return 1 if missed and options.strict else 0


if __name__ == '__main__':
    sys.exit(main())
