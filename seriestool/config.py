"""series.cfg: the two bases of the series and what the checks run."""
import configparser
import os

from .common import BUILD, CONFIG_FILE, ROOT, SeriesError


class Base:
    """
    A base the series is kept against, and where its things live: the
    archive, the exported patches, the materialized tree, the Python and
    the virtualenv its tests run with, and the baseline of its suite.
    """
    def __init__(self, key, title, slug, top, sha256, patches, tree, python, requirements,
                 archive=None, pypi=None, threeway=True):
        self.key = key
        self.title = title          # 'Django 3.0.14': for messages.
        self.slug = slug            # 'django-3.0.14': for file names.
        self.top = top              # The archive's single top-level directory.
        self.sha256 = sha256.lower()
        self.archive = archive      # A file in the repository's neighbourhood...
        self.pypi = pypi            # ...or (name, version) of a PyPI sdist.
        self.patches = patches
        self.tree = tree
        self.test_tree = tree + '-test-tree' if key != 'release' else os.path.join(BUILD, 'test-tree')
        self.python = python
        self.requirements = requirements
        self.venv = os.path.join(BUILD, 'venv' if key == 'release' else 'venv-' + key)
        # Sphinx for the docs: requirements and Python (default: the tool's).
        self.docs_requirements = [os.path.join(ROOT, 'requirements', 'docs.txt')]
        self.docs_python = ''
        self.docs_venv = os.path.join(BUILD, 'venv-docs' if key == 'release' else 'venv-docs-' + key)
        # build/django applies patches/ with `git am --3way`, as before;
        # upstream/ must apply with plain `git am`, as a reviewer would.
        self.threeway = threeway

    @property
    def series_file(self):
        return os.path.join(self.patches, 'series')

    @property
    def dirname(self):
        """patches/ or upstream/, for messages."""
        return os.path.relpath(self.patches, ROOT) + '/'

    def baseline_file(self, version):
        return os.path.join(ROOT, 'baseline', '%s-py%s.txt' % (self.slug, version))


class Config:
    pass


def _paths(value):
    return [os.path.join(ROOT, path) for path in value.split()]


def read_docs(base, section):
    if section.get('docs'):
        base.docs_requirements = _paths(section['docs'])
    base.docs_python = section.get('docs_python', '')


def read_config():
    parser = configparser.ConfigParser()
    if not parser.read(CONFIG_FILE):
        raise SeriesError('config: %s is missing.' % CONFIG_FILE)
    config = Config()
    tests = parser['tests'] if parser.has_section('tests') else {}
    try:
        section = parser['base']
        name, version = section['name'], section['version']
        config.base = Base(
            'release', '%s %s' % (name, version), ('%s-%s' % (name, version)).lower(),
            '%s-%s' % (name, version), section['sha256'], os.path.join(ROOT, 'patches'),
            os.path.join(BUILD, 'django'), section.get('python', ''),
            _paths(tests.get('requirements', 'requirements/test.txt')), pypi=(name, version))
    except KeyError as e:
        raise SeriesError('config: %s has no [base] %s.' % (CONFIG_FILE, e))
    read_docs(config.base, section)
    # Compatibility with code that reads the release's fields directly.
    config.name, config.version, config.sha256 = name, version, config.base.sha256
    config.upstream = None
    if parser.has_section('upstream'):
        section = parser['upstream']
        try:
            archive = os.path.normpath(os.path.join(ROOT, section['archive']))
            slug = os.path.basename(archive)
            for suffix in ('.tar.gz', '.tgz', '.tar'):
                if slug.endswith(suffix):
                    slug = slug[:-len(suffix)]
            config.upstream = Base(
                'upstream', section.get('title', slug), slug, section['top'], section['sha256'],
                os.path.join(ROOT, 'upstream'), os.path.join(BUILD, 'upstream'), section.get('python', ''),
                _paths(section.get('requirements', '')), archive=archive, threeway=False)
            read_docs(config.upstream, section)
        except KeyError as e:
            raise SeriesError('config: %s has no [upstream] %s.' % (CONFIG_FILE, e))
    config.async_suite = tests.get('async_suite', '').split()
    config.postgres_labels = tests.get('postgres_labels', '').split()
    bench = parser['bench'] if parser.has_section('bench') else {}
    config.bench_reference = _paths(bench.get('reference', ''))
    config.extra_venvs = {}
    for section in parser.sections():
        if section.startswith('venv '):
            config.extra_venvs[section[5:].strip()] = (
                _paths(parser[section]['requirements']),
                parser[section].get('python', config.base.python),
            )
    example = parser['example'] if parser.has_section('example') else {}
    config.example = os.path.join(ROOT, example.get('directory', 'example'))
    config.example_python = example.get('python', config.base.python)
    return config


def require_upstream(config, what):
    if config.upstream is None:
        raise SeriesError('%s: %s has no [upstream] section naming Django main\'s archive.' % (what, CONFIG_FILE))
    return config.upstream
