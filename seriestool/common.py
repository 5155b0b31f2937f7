"""Paths, errors, and running commands."""
import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, 'build')
LOGS = os.path.join(BUILD, 'logs')
CONFIG_FILE = os.path.join(ROOT, 'series.cfg')


class SeriesError(Exception):
    """A step failed; the message names the step, the file and what to do."""


def say(*args):
    print(*args, flush=True)


def rel(path):
    """path relative to the repository, for messages."""
    return os.path.relpath(path, ROOT)


def log_path(name):
    os.makedirs(LOGS, exist_ok=True)
    return os.path.join(LOGS, name)


def run(args, cwd=None, env=None, check=True, capture=True, input=None):
    """Run a command; return its CompletedProcess (stdout+stderr text)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        proc = subprocess.run(
            args, cwd=cwd, env=full_env, input=input,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
            universal_newlines=True,
        )
    except FileNotFoundError:
        raise SeriesError('%s is not installed or not on PATH.' % args[0])
    if check and proc.returncode:
        raise SeriesError('command failed (exit %d): %s\n%s' % (
            proc.returncode, ' '.join(args), (proc.stdout or '').rstrip()))
    return proc


def git(tree, *args, **kwargs):
    return run(['git', '-C', tree] + list(args), **kwargs)


def find_python(version):
    """The interpreter for a Python version such as '3.9', or None."""
    if not version:
        return sys.executable
    candidates = []
    pyenv = os.path.join(os.environ.get('PYENV_ROOT') or os.path.expanduser('~/.pyenv'), 'versions')
    if os.path.isdir(pyenv):
        candidates += [os.path.join(pyenv, name, 'bin', 'python%s' % version)
                       for name in sorted(os.listdir(pyenv), reverse=True) if name.startswith(version + '.')]
    candidates.append(shutil.which('python%s' % version))
    for candidate in candidates:
        # A pyenv shim exists for versions that are not selected: try it.
        if candidate and run([candidate, '-c', 'pass'], check=False).returncode == 0:
            return candidate
    return None


def require_python(version, what):
    """The interpreter for version, or a SeriesError naming what needs it."""
    python = find_python(version)
    if python is None:
        raise SeriesError(
            '%s needs Python %s, which this machine lacks (looked in pyenv\'s versions and for '
            'python%s on PATH). Install it (e.g. pyenv install %s).' % (what, version, version, version))
    return python


def positive_int(text):
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError('%r is not a positive integer' % text)
    return value
