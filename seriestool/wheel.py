"""
The wheel of the patched Django, and the example project run against it in
a fresh virtualenv that first holds stock Django, as a user's would.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

from .common import BUILD, SeriesError, git, log_path, rel, require_python, run, say
from .config import read_config
from .tree import ensure_tree, operation_in_progress, uncommitted
from .venvs import venv_python

DIST = os.path.join(BUILD, 'dist')


def local_version(config, tree):
    """
    The wheel's version: the release plus a PEP 440 local label naming the
    committed content (its git tree id), so that pip replaces stock Django
    with it and each changed build has a version of its own.
    """
    tree_id = git(tree, 'rev-parse', 'HEAD^{tree}').stdout.strip()
    return '%s+async.%s' % (config.version, tree_id[:10])


def build_wheel(config, tree=None):
    """
    Build build/dist/django-VERSION-py3-none-any.whl from HEAD of build/django
    (or of another tree of the series, such as ./series test's); return its
    path and version.
    """
    if tree is None:
        tree = config.base.tree
        ensure_tree(config.base, 'wheel')
    operation = operation_in_progress(tree)
    dirty = uncommitted(tree)
    if operation or dirty:
        raise SeriesError(
            'wheel: %s has %s, which a wheel built from its commits would leave out. Commit '
            'them there (git commit -a; then ./series export) or stash them, and build again.%s' % (
                rel(tree), 'an unfinished %s' % operation if operation else 'uncommitted changes',
                '\n' + dirty if dirty else ''))
    version = local_version(config, tree)
    shutil.rmtree(DIST, ignore_errors=True)
    os.makedirs(DIST)
    with tempfile.TemporaryDirectory() as tmp:
        # Build from a clean copy of HEAD so that no build product lands in
        # the tree and nothing uncommitted gets in.
        proc = subprocess.run('git -C "%s" archive --format=tar HEAD | tar -x -C "%s"' % (tree, tmp), shell=True)
        if proc.returncode:
            raise SeriesError('wheel: could not copy HEAD of %s.' % tree)
        setup = os.path.join(tmp, 'setup.py')
        with open(setup) as f:
            text = f.read()
        stamped = re.sub(r'^version = (.*)$', lambda m: 'version = %r' % version, text, count=1, flags=re.M)
        if stamped == text:
            raise SeriesError('wheel: no `version = ...` line in %s/setup.py to stamp %s into.' % (rel(tree), version))
        with open(setup, 'w') as f:
            f.write(stamped)
        run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--disable-pip-version-check',
             '-w', DIST, tmp])
    wheels = glob.glob(os.path.join(DIST, '*.whl'))
    if len(wheels) != 1:
        raise SeriesError('wheel: expected one wheel in %s, found %s.' % (rel(DIST), wheels))
    return wheels[0], version


def cmd_wheel(args):
    config = read_config()
    path, version = build_wheel(config)
    say('wheel: %s (Django %s)' % (path, version))
    say('wheel: install it over stock Django with: pip install %s' % path)


# The example project ------------------------------------------------------

def installed_version(python):
    return run([python, '-c', 'import importlib.metadata as m; print(m.version("Django"))']).stdout.strip()


def count_unittest(output):
    """(ran, failed, skipped) from the output of manage.py test."""
    ran = re.findall(r'^Ran (\d+) tests? in', output, re.M)
    closing = re.findall(r'^(OK|FAILED)(?: \((.*)\))?$', output, re.M)
    failed = skipped = 0
    if closing:
        fields = {key.strip(): value for key, value in re.findall(r'([\w ]+)=(\d+)', closing[-1][1] or '')}
        failed = int(fields.get('failures', 0)) + int(fields.get('errors', 0)) + int(
            fields.get('unexpected successes', 0))
        skipped = int(fields.get('skipped', 0))
    return (int(ran[-1]) if ran else 0), failed, skipped


def count_pytest(output):
    """(ran, failed, skipped) from pytest's closing line."""
    lines = [line for line in output.splitlines() if re.search(r'\d+ (passed|failed|error)', line)]
    counts = dict((word, int(n)) for n, word in re.findall(r'(\d+) (\w+)', lines[-1])) if lines else {}
    failed = counts.get('failed', 0) + counts.get('error', 0) + counts.get('errors', 0)
    ran = counts.get('passed', 0) + failed + counts.get('xfailed', 0) + counts.get('xpassed', 0)
    return ran, failed, counts.get('skipped', 0)


def example_project(config, tree=None):
    """
    Build the wheel, install it over stock Django in a fresh virtualenv,
    install the example's requirements and run its tests with manage.py
    test and with pytest. Return (passed, lines): None when there is no
    example project.
    """
    example = config.example
    if not os.path.isfile(os.path.join(example, 'manage.py')):
        say('example: skipped, there is no example project (%s/manage.py) yet.' % rel(example))
        return None, []
    wheel, version = build_wheel(config, tree)
    python = require_python(config.example_python, 'the example project')
    venv = os.path.join(BUILD, 'venv-example')
    shutil.rmtree(venv, ignore_errors=True)
    say('example: a fresh %s with stock Django %s, then %s' % (rel(venv), config.version, rel(wheel)))
    run([python, '-m', 'venv', venv])
    pip = [venv_python(venv), '-m', 'pip', 'install', '-q', '--disable-pip-version-check']
    run(pip + ['Django==%s' % config.version])
    run(pip + [wheel])
    found = installed_version(venv_python(venv))
    if found != version:
        raise SeriesError('example: pip left Django %s in %s instead of the wheel\'s %s.'
                          % (found, rel(venv), version))
    requirements = os.path.join(example, 'requirements.txt')
    if os.path.exists(requirements):
        run(pip + ['-r', requirements])
        found = installed_version(venv_python(venv))
        if found != version:
            raise SeriesError('example: installing %s replaced the patched Django with %s; it must accept '
                              'Django %s (e.g. Django==%s).' % (rel(requirements), found, version, config.version))
    say('example: Django %s installed from the wheel.' % found)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE='1')
    env.pop('PYTHONPATH', None)
    passed, lines = True, []
    for name, command, counter in (
            ('manage.py test', [venv_python(venv), 'manage.py', 'test', '-v', '2'], count_unittest),
            ('pytest', [venv_python(venv), '-m', 'pytest', '-p', 'no:cacheprovider', '-rfE'], count_pytest)):
        log = log_path('example-%s.log' % name.split()[0].replace('.py', ''))
        with open(log, 'w') as f:
            proc = subprocess.run(command, cwd=example, env=env, stdout=f, stderr=subprocess.STDOUT)
        with open(log) as f:
            output = f.read()
        ran, failed, skipped = counter(output)
        ok = proc.returncode == 0 and ran > 0 and not failed
        line = 'example: %s: %d tests ran, %d passed, %d failed, %d skipped%s (output in %s).' % (
            name, ran, ran - failed, failed, skipped, '' if ok else ' (exit %d)' % proc.returncode, rel(log))
        say(line)
        if not ok:
            say(output[-3000:])
        passed = passed and ok
        lines.append(line)
    return passed, lines
