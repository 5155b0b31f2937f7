"""Django's test runner, the baselines, lint and the docs build."""
import builtins
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

from .common import SeriesError, git, rel, require_python, run, say
from .tree import changed_files
from .venvs import ensure_venv

RESULT_RE = re.compile(r'^(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+) \(([\w.]+)\)', re.M)

# The outcome of a runtests.py run.
Result = collections.namedtuple('Result', 'ran failures rc skipped')


def failing_ids(output):
    """The ids (module.Class.method) of the tests reported as failing."""
    ids = set()
    for _, method, where in RESULT_RE.findall(output):
        ids.add(where if where.endswith('.' + method) else '%s.%s' % (where, method))
    return ids


def skipped_count(output):
    """The skipped tests of unittest's closing line, e.g. 'OK (skipped=3)'."""
    closing = re.findall(r'^(?:OK|FAILED) \((.*)\)$', output, re.M)
    found = re.search(r'\bskipped=(\d+)', closing[-1]) if closing else None
    return int(found[1]) if found else 0


def runtests(python, tree, args, log, env=None):
    """Run Django's tests/runtests.py; return a Result."""
    test_env = {'PYTHONPATH': tree, 'PYTHONDONTWRITEBYTECODE': '1', 'LC_ALL': 'C.UTF-8'}
    test_env.update(env or {})
    command = [python, 'runtests.py'] + args
    say('test: runtests.py %s (output in %s)' % (' '.join(args), rel(log)))
    with open(log, 'w') as f:
        proc = subprocess.run(command, cwd=os.path.join(tree, 'tests'), stdout=f, stderr=subprocess.STDOUT,
                              env=dict(os.environ, **test_env))
    with open(log) as f:
        output = f.read()
    installed = re.search(r"^Testing against Django installed in '(.*)'", output, re.M)
    if not installed or not installed[1].startswith(os.path.realpath(tree)):
        raise SeriesError('test: runtests.py did not test the tree %s (see %s).' % (tree, log))
    ran = re.findall(r'^Ran (\d+) tests? in', output, re.M)
    if not ran:
        raise SeriesError('test: runtests.py stopped before reporting a result (exit %d); see %s:\n%s'
                          % (proc.returncode, log, output[-3000:]))
    return Result(int(ran[-1]), failing_ids(output), proc.returncode, skipped_count(output))


def report_run(what, result):
    """Print the outcome of a runtests.py run; return True if it passed."""
    say('test: %s: %d tests ran, %d failed, %d skipped.' % (
        what, result.ran, len(result.failures), result.skipped))
    for test_id in sorted(result.failures):
        say('  FAILED %s' % test_id)
    return result.ran > 0 and not result.failures and result.rc == 0


def suite_args(args):
    return ['--parallel=%d' % args.parallel, '-v', '1']


# Baselines ----------------------------------------------------------------

def read_baseline(path):
    if not os.path.exists(path):
        raise SeriesError('test: no baseline at %s. Record one with ./series baseline%s.' % (
            rel(path), ' --upstream' if 'main' in os.path.basename(path) else ''))
    with open(path) as f:
        return {line.strip() for line in f if line.strip() and not line.startswith('#')}


def write_baseline(path, title, version, requirements, result, command):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('# Tests that fail on unpatched %s with Python %s and %s.\n'
                '# %d tests ran, %d skipped. Regenerate with: %s\n' % (
                    title, version, ' '.join(rel(r) for r in requirements), result.ran, result.skipped, command))
        f.write(''.join(test_id + '\n' for test_id in sorted(result.failures)))


def compare_with_baseline(what, result, baseline):
    """Report a full-suite run against its baseline; return the new failures."""
    new = sorted(result.failures - baseline)
    fixed = sorted(baseline - result.failures)
    say('test: %s: %d tests ran, %d skipped; %d new failures; %d baseline failures still failing; '
        '%d baseline failures now passing.' % (
            what, result.ran, result.skipped, len(new), len(result.failures & baseline), len(fixed)))
    for test_id in new:
        say('  NEW FAILURE %s' % test_id)
    for test_id in fixed:
        say('  now passing: %s' % test_id)
    return new


# Lint ---------------------------------------------------------------------

def added_lines(tree, path):
    """Line numbers of path added by base..HEAD (None: the whole file is new)."""
    diff = git(tree, 'diff', '-U0', 'base', 'HEAD', '--', path).stdout
    if re.search(r'^new file mode', diff, re.M):
        return None
    lines = set()
    for start, count in re.findall(r'^@@ -\S+ \+(\d+)(?:,(\d+))? @@', diff, re.M):
        start, count = int(start), int(count or 1)
        lines.update(range(start, start + count))
    return lines


def copy_of_base(tree, path, directory):
    """Write base's version of path under directory; None if it is new."""
    was = git(tree, 'show', 'base:%s' % path, check=False)
    if was.returncode:
        return None
    copy = os.path.join(directory, path)
    os.makedirs(os.path.dirname(copy), exist_ok=True)
    with open(copy, 'w') as f:
        f.write(was.stdout)
    return copy


def lint(tree, python):
    """Lint what the series adds with the tools of python's venv; return problems."""
    py_files = [p for p in changed_files(tree) if p.endswith('.py')]
    if not py_files:
        return []
    bindir = os.path.dirname(python)
    problems = []
    # flake8: only messages on lines the series adds.
    proc = run([os.path.join(bindir, 'flake8')] + py_files, cwd=tree, check=False)
    for line in proc.stdout.splitlines():
        match = re.match(r'^(.+?):(\d+):\d+: ', line)
        if match:
            added = added_lines(tree, match[1])
            if added is not None and int(match[2]) not in added:
                continue
        if line.strip():
            problems.append('flake8: %s' % line)
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, 'base')
        os.makedirs(base)
        shutil.copy(os.path.join(tree, 'setup.cfg'), base)  # isort's and flake8's configuration.
        base_files = [p for p in py_files if copy_of_base(tree, p, base)]
        # isort: files whose imports the series unsorts, or new files.
        for path in py_files:
            proc = run([os.path.join(bindir, 'isort'), '--check-only', '--diff', path], cwd=tree, check=False)
            if proc.returncode == 0 and 'ERROR' not in proc.stdout:
                continue
            if path in base_files:
                was = run([os.path.join(bindir, 'isort'), '--check-only', path], cwd=base, check=False)
                if was.returncode or 'ERROR' in was.stdout:
                    continue
            problems.append('isort: %s: imports are not sorted:\n%s' % (path, proc.stdout.rstrip()))
        # vermin: findings the base's version of the file does not have.
        vermin = [os.path.join(bindir, 'vermin'), '-t=3.6-', '--no-tips', '--violations']
        found = vermin_findings(run(vermin + py_files, cwd=tree, check=False).stdout, tree)
        known = set()
        if base_files:
            known = set(vermin_findings(run(vermin + base_files, cwd=base, check=False).stdout, base))
        problems.extend('vermin: %s: %s' % finding for finding in found if finding not in known)
    return problems


def vermin_findings(output, directory):
    """(path relative to directory, text) for each violation vermin printed."""
    findings, path = [], None
    for line in output.splitlines():
        header = re.match(r'^!?[\d.x, !]*\s+(\S+\.py)$', line)
        if header:
            path = os.path.relpath(os.path.join(directory, header[1]), directory)
        elif path and line.startswith('  ') and line.strip():
            findings.append((path, line.strip()))
        elif not line.strip():
            path = None
    return findings


# Docs ---------------------------------------------------------------------

# Sphinx warnings that only say the docs of other projects could not be
# fetched: this machine has no network but the package index.
OFFLINE_WARNING_RE = re.compile(
    r'intersphinx|failed to reach any of the inventories|'
    r'(unknown document|undefined label|term not in glossary): ?(python|sphinx|psycopg2):')
# Sphinx runs nit-picky (-n): every cross-reference on an added line must
# resolve. References into the standard library resolve through
# intersphinx, which needs the network: those are not reported.
UNRESOLVED_RE = re.compile(r'reference target not found: ~?\.?([\w]+)')
STDLIB = set(getattr(sys, 'stdlib_module_names', ())) | {
    'asyncio', 'unittest', 'contextvars', 'concurrent', 'threading', 'inspect', 'functools', 'collections',
    'typing', 'io', 'os', 'sys', 'json', 'http', 'urllib', 'email', 'logging', 'datetime', 'warnings'}
BUILTINS = set(dir(builtins))


def offline_only(message):
    """Whether a warning only says a reference into the stdlib cannot resolve offline."""
    match = UNRESOLVED_RE.search(message)
    return bool(match) and (match[1] in STDLIB or match[1] in BUILTINS)


def docs_warnings(base, tree, log):
    """Build the docs of tree (of base); return the warnings on what the series adds."""
    python = require_python(base.docs_python, 'the docs of %s' % base.title) if base.docs_python else None
    ensure_venv(base.docs_venv, base.docs_requirements, None, python)
    with tempfile.TemporaryDirectory() as tmp:
        proc = run([os.path.join(base.docs_venv, 'bin', 'sphinx-build'), '-b', 'dummy', '-q', '-n', '-N', '-d',
                    os.path.join(tmp, 'doctrees'), os.path.join(tree, 'docs'), os.path.join(tmp, 'out')],
                   check=False, env={'PYTHONPATH': tree})
    with open(log, 'w') as f:
        f.write(proc.stdout)
    if proc.returncode:
        raise SeriesError('docs: sphinx-build failed (exit %d); see %s.' % (proc.returncode, log))
    touched = set(changed_files(tree, 'docs'))
    warnings = []
    for line in proc.stdout.splitlines():
        match = re.match(r'^(/\S+?):(\d+)?:? (WARNING|ERROR|SEVERE|CRITICAL): (.*)$', line)
        if not match or OFFLINE_WARNING_RE.search(line) or offline_only(match[4]):
            continue
        path = os.path.relpath(match[1], tree)
        if path not in touched:
            continue
        added = added_lines(tree, path)
        if added is None or not match[2] or int(match[2]) in added:
            warnings.append('%s:%s: %s: %s' % (path, match[2] or '', match[3], match[4]))
    return warnings
