"""The benchmarks: bench/*.py against build/django, other venvs and a reference release."""
import os
import subprocess

from .common import BUILD, CONFIG_FILE, ROOT, SeriesError, require_python, say
from .config import read_config
from .tree import ensure_tree
from .venvs import base_venv, ensure_venv, venv_python


def cmd_bench(args):
    """
    Run the benchmark scripts in bench/ against build/django, then in each
    extra virtualenv named with --venv, then against the reference release
    with --reference; all of that --repeat times, alternating, so that the
    figures of one round were measured under the same conditions.
    """
    config = read_config()
    scripts = args.scripts or sorted(f for f in os.listdir(os.path.join(ROOT, 'bench')) if f.endswith('.py'))
    for script in scripts:
        if not os.path.isfile(os.path.join(ROOT, 'bench', script)):
            raise SeriesError('bench: no script %s in bench/.' % script)
    for name in args.venv:
        if name not in config.extra_venvs:
            raise SeriesError('bench: no [venv %s] in %s; there are: %s.' % (
                name, os.path.basename(CONFIG_FILE), ', '.join(sorted(config.extra_venvs)) or 'none'))
    ensure_tree(config.base, 'bench')
    base_venv(config.base)
    venvs = [('build/django', config.base.venv)]
    for name in args.venv:
        requirements, version = config.extra_venvs[name]
        interpreter = require_python(version, 'bench: [venv %s]' % name)
        path = os.path.join(BUILD, 'venv-' + name)
        ensure_venv(path, requirements, config.base.tree, python=interpreter)
        venvs.append(('build/django, venv %s' % name, path))
    if args.reference:
        if not config.bench_reference:
            raise SeriesError('bench: %s has no [bench] reference requirements.' % os.path.basename(CONFIG_FILE))
        path = os.path.join(BUILD, 'venv-reference')
        ensure_venv(path, config.bench_reference, None)
        venvs.append(('reference (%s)' % ' '.join(
            os.path.relpath(requirement, ROOT) for requirement in config.bench_reference), path))
    status = 0
    for round_ in range(1, args.repeat + 1):
        for label, venv in venvs:
            for script in scripts:
                path = os.path.join(ROOT, 'bench', script)
                say('bench: %s, %s%s' % (
                    os.path.relpath(path, ROOT), label,
                    ', round %d of %d' % (round_, args.repeat) if args.repeat > 1 else ''))
                env = dict(os.environ)
                # The virtualenvs of the tree have it on their path; an
                # inherited PYTHONPATH must not put it before the reference.
                env.pop('PYTHONPATH', None)
                proc = subprocess.run([venv_python(venv), path], cwd=os.path.join(ROOT, 'bench'), env=env)
                status = status or proc.returncode
    return status
