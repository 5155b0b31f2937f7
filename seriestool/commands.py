"""The subcommands that combine the rest: run, test and baseline."""
import os
import re
import shutil
import sys
import time

from .archives import extract_base
from .checks import (
    compare_with_baseline, docs_warnings, lint, read_baseline, report_run, runtests, suite_args, write_baseline,
)
from .common import BUILD, ROOT, find_python, log_path, rel, run, say
from .config import read_config
from .port import report_drift
from .postgres import postgres_tests
from .tree import ensure_tree, materialize, read_series, touched_test_modules, uncommitted
from .venvs import base_venv, ensure_venv, python_version, venv_python
from .wheel import example_project

QUICK = ['--parallel=1', '-v', '1']


def async_tests(config, python, tree, log):
    """Run the series' async tests (config's async_suite); fall back to the modules it touches."""
    result = runtests(python, tree, config.async_suite + QUICK, log) if config.async_suite else None
    if result is None or not result.ran:
        modules = touched_test_modules(tree) or ['test_client', 'asgi']
        say('run: the series adds no async tests yet; running the test modules it touches: %s' % ' '.join(modules))
        result = runtests(python, tree, modules + QUICK, log)
    return result


def cmd_run(args):
    config = read_config()
    base = config.base
    ensure_tree(base, 'run')
    python = base_venv(base)
    result = async_tests(config, python, base.tree, log_path('run.log'))
    passed = report_run('async tests (%s, Python %s)' % (
        ' '.join(config.async_suite), python_version(python)), result)
    if args.no_example:
        say('example: skipped (--no-example).')
    elif uncommitted(base.tree):
        say('example: skipped, %s has uncommitted changes and the wheel is built from commits only.'
            % rel(base.tree))
    else:
        example_passed, _ = example_project(config)
        passed = passed and example_passed is not False
    say(USAGE % {'venv': rel(base.venv), 'tree': rel(base.tree), 'root': ROOT})
    return 0 if passed else 1


USAGE = """
To use the patched Django in your own project:
  - build a wheel with ./series wheel and pip install the file it names
    (it replaces a stock Django 3.0.14: its version has a +async local label);
  - or run it with this virtualenv, which has the tree %(tree)s on its path
    (edits there take effect at once): %(root)s/%(venv)s/bin/python manage.py test
  - or see README.md for putting the tree on your own virtualenv's path.
Async tests are described in %(tree)s/docs/topics/testing/tools.txt.
"""


class Totals:
    """The closing line's counts, over every full-suite run."""
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.ran = False

    def add(self, result, new):
        self.ran = True
        self.passed += result.ran - len(result.failures) - result.skipped
        self.failed += len(new)
        self.skipped += result.skipped


def full_suite(base, python, args, totals, failed):
    version = python_version(python)
    baseline = read_baseline(base.baseline_file(version))
    result = runtests(python, base.test_tree, suite_args(args), log_path('suite-%s.log' % base.key))
    new = compare_with_baseline('%s suite on Python %s' % (base.title, version), result, baseline)
    if new:
        failed.append('%s suite' % base.title)
    totals.add(result, new)


def check_tree(base, python, args, failed):
    """Lint and docs of a freshly applied test tree."""
    problems = lint(base.test_tree, python)
    for problem in problems:
        say(problem)
    say('test: %s: lint (flake8, isort, vermin on the files the series touches): %d problems.'
        % (base.title, len(problems)))
    if problems:
        failed.append('lint (%s)' % base.title)
    if args.no_docs:
        return
    warnings = docs_warnings(base, base.test_tree, log_path('docs-%s.log' % base.key))
    for warning in warnings:
        say('docs: %s' % warning)
    say('test: %s: docs built with Sphinx (nit-picky): %d warnings on what the series adds.'
        % (base.title, len(warnings)))
    if warnings:
        failed.append('docs (%s)' % base.title)


def cmd_test(args):
    config = read_config()
    started = time.time()
    failed = []
    totals = Totals()
    release = config.base
    # A fresh tree from patches/, so that a dirty build/django cannot make
    # the run lie.
    shutil.rmtree(release.test_tree, ignore_errors=True)
    names = materialize(release.test_tree, release)
    say('test: applied %d patches of %s to a fresh tree of %s.' % (len(names), release.dirname, release.title))
    python = base_venv(release)
    check_tree(release, python, args, failed)

    proc = run([sys.executable, '-m', 'unittest', 'discover', '-s', os.path.join(ROOT, 'tests')],
               cwd=ROOT, check=False)
    counted = re.findall(r'^Ran (\d+) tests?', proc.stdout, re.M)
    say('test: the tool\'s own tests: %s tests ran, %s.' % (
        counted[-1] if counted else 'no', 'passed' if proc.returncode == 0 else 'FAILED'))
    if proc.returncode:
        say(proc.stdout)
        failed.append('tool tests')

    # The async tests on the base's Python, then again in each extra
    # environment (e.g. the lowest asgiref the series supports).
    if not report_run('async tests on Python %s' % python_version(python),
                      async_tests(config, python, release.test_tree, log_path('async.log'))):
        failed.append('async tests')
    for name, (requirements, version) in sorted(config.extra_venvs.items()):
        interpreter = find_python(version)
        if interpreter is None:
            # Only the base's Python is required; others are a bonus.
            say('test: async tests with %s: skipped, no Python %s on this machine.' % (name, version))
            continue
        venv = os.path.join(BUILD, 'venv-%s' % name)
        ensure_venv(venv, requirements, release.tree, interpreter)
        if not report_run('async tests with %s' % name, async_tests(
                config, venv_python(venv), release.test_tree, log_path('async-%s.log' % name))):
            failed.append('async tests (%s)' % name)

    if config.postgres_labels and not args.no_postgres:
        venv = os.path.join(BUILD, 'venv-postgres')
        ensure_venv(venv, [os.path.join(ROOT, 'requirements', 'postgres.txt')], release.tree,
                    find_python(release.python))
        if not report_run('async tests on PostgreSQL', postgres_tests(
                venv_python(venv), release.test_tree, config, os.path.dirname(log_path('postgres.log')))):
            failed.append('PostgreSQL tests')

    if args.no_example:
        say('example: skipped (--no-example).')
    else:
        # The wheel of the fresh tree: uncommitted edits can't get in.
        passed, _ = example_project(config, release.test_tree)
        if passed is False:
            failed.append('example project')

    if not args.no_suite:
        full_suite(release, python, args, totals, failed)

    if config.upstream is not None and not args.no_upstream:
        test_upstream(config, args, totals, failed)

    if totals.ran:
        # The closing line CI reads: baseline failures are known, not new;
        # skipped tests did not pass.
        say('suite: %d passed, %d failed, %d skipped' % (totals.passed, totals.failed, totals.skipped))
    say('test: finished in %d s.' % (time.time() - started))
    if failed:
        say('test: FAILED: %s' % ', '.join(failed))
        return 1
    say('test: all checks passed.')
    return 0


def test_upstream(config, args, totals, failed):
    """The pull request's form of the series, upstream/, on Django main."""
    upstream = config.upstream
    if report_drift(config):
        failed.append('drift between patches/ and upstream/')
    names = read_series(upstream)
    if not names:
        say('test: %s: skipped, %s holds no patches yet (./series port makes them).'
            % (upstream.title, upstream.dirname))
        return
    shutil.rmtree(upstream.test_tree, ignore_errors=True)
    materialize(upstream.test_tree, upstream)
    say('test: applied %d patches of %s to a fresh tree of %s with plain git am.'
        % (len(names), upstream.dirname, upstream.title))
    python = base_venv(upstream, link=False)
    check_tree(upstream, python, args, failed)
    # The async tests and every test module the series touches.
    modules = touched_test_modules(upstream.test_tree)
    labels = modules + [label for label in config.async_suite if label.split('.')[0] not in modules]
    missing = [label for label in labels if not os.path.isdir(
        os.path.join(upstream.test_tree, 'tests', label.split('.')[0]))]
    if missing:
        say('test: %s: no test module %s in this tree; not run.' % (upstream.title, ', '.join(missing)))
        labels = [label for label in labels if label not in missing]
    if not report_run('%s: async tests and touched modules on Python %s' % (
            upstream.title, python_version(python)),
            runtests(python, upstream.test_tree, labels + QUICK, log_path('async-upstream.log'))):
        failed.append('async tests (%s)' % upstream.title)
    if not args.no_suite:
        full_suite(upstream, python, args, totals, failed)


def cmd_baseline(args):
    """Record the failures of the unpatched base on its Python."""
    config = read_config()
    base = config.upstream if args.upstream else config.base
    if base is None:
        from .config import require_upstream
        base = require_upstream(config, 'baseline')
    tree = os.path.join(BUILD, 'baseline-tree-%s' % base.key)
    shutil.rmtree(tree, ignore_errors=True)
    extract_base(base, tree)
    python = base_venv(base, link=False)
    version = python_version(python)
    result = runtests(python, tree, suite_args(args), log_path('baseline-%s.log' % base.key))
    path = base.baseline_file(version)
    write_baseline(path, base.title, version, base.requirements, result,
                   './series baseline%s' % (' --upstream' if args.upstream else ''))
    shutil.rmtree(tree, ignore_errors=True)
    say('baseline: %s on Python %s: %d tests ran, %d failed, %d skipped; written to %s' % (
        base.title, version, result.ran, len(result.failures), result.skipped, rel(path)))
