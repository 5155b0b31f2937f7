"""The virtualenvs: made from pinned requirements, rebuilt when they change."""
import hashlib
import os
import re
import shutil
import sys

from .common import SeriesError, rel, require_python, run, say


def venv_python(venv):
    return os.path.join(venv, 'bin', 'python')


def ensure_venv(venv, requirements, tree, python=None):
    """Create or refresh venv from requirements; point it at tree, if given."""
    python = python or sys.executable
    digest = hashlib.sha256(run([python, '-c', 'import sys; print(sys.version)']).stdout.strip().encode())
    pending = list(requirements)
    while pending:
        path = pending.pop(0)
        if not os.path.exists(path):
            raise SeriesError('venv: requirements file %s is missing.' % path)
        with open(path, 'rb') as f:
            text = f.read()
        digest.update(text)
        # Files included with -r count too.
        pending += [os.path.join(os.path.dirname(path), name.decode())
                    for name in re.findall(rb'^-r\s+(\S+)', text, re.M)]
    stamp = os.path.join(venv, '.series-stamp')
    if not (os.path.exists(stamp) and open(stamp).read() == digest.hexdigest()):
        say('venv: building %s' % rel(venv))
        shutil.rmtree(venv, ignore_errors=True)
        run([python, '-m', 'venv', venv])
        args = [venv_python(venv), '-m', 'pip', 'install', '-q', '--disable-pip-version-check']
        for path in requirements:
            args += ['-r', path]
        if requirements:
            run(args)
        with open(stamp, 'w') as f:
            f.write(digest.hexdigest())
    if tree is not None:
        link_tree(venv, tree)


def base_venv(base, link=True):
    """The virtualenv of a base (build/venv, build/venv-upstream) on its Python."""
    python = require_python(base.python, 'the virtualenv of %s' % base.title) if base.python else None
    ensure_venv(base.venv, base.requirements, base.tree if link else None, python)
    return venv_python(base.venv)


def python_version(python):
    return run([python, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])']).stdout.strip()


def link_tree(venv, tree):
    """
    Install tree in venv in editable mode: a path entry, so that no build
    product is written into the tree, and a django-admin script.
    """
    site = run([venv_python(venv), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])']).stdout.strip()
    with open(os.path.join(site, 'django-series.pth'), 'w') as f:
        f.write(tree + '\n')
    script = os.path.join(venv, 'bin', 'django-admin')
    with open(script, 'w') as f:
        f.write('#!%s\nfrom django.core import management\n\nmanagement.execute_from_command_line()\n'
                % venv_python(venv))
    os.chmod(script, 0o755)
