"""A base's archive: the PyPI sdist (downloaded, cached) or a local file."""
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile

from .common import SeriesError, run, say


def cache_dir():
    if os.environ.get('SERIES_CACHE'):
        return os.environ['SERIES_CACHE']
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'django-series')


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def fetch_sdist(name, version, sha256):
    """Return the path of the verified sdist, downloading it if needed."""
    directory = cache_dir()
    path = os.path.join(directory, '%s-%s.tar.gz' % (name, version))
    if not os.path.exists(path):
        os.makedirs(directory, exist_ok=True)
        say('download: fetching the %s %s sdist with pip into %s' % (name, version, directory))
        with tempfile.TemporaryDirectory(dir=directory) as tmp:
            proc = run([
                sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:',
                '--disable-pip-version-check', '-d', tmp, '%s==%s' % (name, version),
            ], check=False)
            found = [f for f in os.listdir(tmp) if f.endswith('.tar.gz')]
            if proc.returncode or len(found) != 1:
                raise SeriesError(
                    'download: pip could not fetch %s==%s (exit %d). Check the network '
                    'access to PyPI and retry:\n%s' % (name, version, proc.returncode, proc.stdout.rstrip()))
            os.replace(os.path.join(tmp, found[0]), path)
    actual = sha256_of(path)
    if actual != sha256:
        os.remove(path)
        raise SeriesError(
            'verify: %s has sha256 %s, but series.cfg pins %s. Nothing was '
            'extracted; the file was removed from the cache. Run the command '
            'again to download it anew; if the mismatch persists, the file '
            'on the index is not the pinned one: do not change the pin '
            'without reviewing why.' % (path, actual, sha256))
    return path


def archive_of(base):
    """The verified archive of base (a Base of config.py)."""
    if base.pypi:
        return fetch_sdist(base.pypi[0], base.pypi[1], base.sha256)
    if not os.path.isfile(base.archive):
        raise SeriesError(
            'verify: %s, the archive of %s, is missing. It lives in shared/ beside the '
            'repository (../shared/upstream/ from the repository root); copy it there.'
            % (base.archive, base.title))
    actual = sha256_of(base.archive)
    if actual != base.sha256:
        raise SeriesError(
            'verify: %s has sha256 %s, but series.cfg pins %s. Nothing was extracted. '
            'Restore the pinned archive; do not change the pin without reviewing why.'
            % (base.archive, actual, base.sha256))
    return base.archive


def inside(member, top):
    """Whether a symbolic link member points inside the top directory."""
    target = os.path.normpath(os.path.join(os.path.dirname(member.name), member.linkname))
    return not os.path.isabs(member.linkname) and target.split('/')[0] == top and '..' not in target.split('/')


def extract(archive, top, destination):
    """Extract the archive's single top-level directory top to destination."""
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            parts = member.name.split('/')
            if (member.name.startswith('/') or '..' in parts or parts[0] != top or
                    (member.issym() and not inside(member, top)) or member.islnk() or member.isdev()):
                raise SeriesError(
                    'extract: %s holds an unexpected entry %r; refusing to '
                    'extract it.' % (archive, member.name))
            # Files belong to whoever runs the tool, not to the archive's owner.
            member.uid, member.gid = os.getuid(), os.getgid()
            member.uname = member.gname = ''
        tmp = tempfile.mkdtemp(dir=os.path.dirname(destination))
        try:
            if hasattr(tarfile, 'fully_trusted_filter'):
                tar.extractall(tmp, members, filter='fully_trusted')
            else:
                tar.extractall(tmp, members)
            os.replace(os.path.join(tmp, top), destination)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def extract_base(base, destination):
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    extract(archive_of(base), base.top, destination)
