"""A throwaway PostgreSQL server on 127.0.0.1 for the database-touching async tests."""
import os
import shutil
import socket
import tempfile

from .checks import runtests
from .common import ROOT, SeriesError, run, say


def postgres_bindir():
    for candidate in [os.environ.get('PG_BINDIR', '')] + sorted(
            (os.path.join('/usr/lib/postgresql', v, 'bin') for v in
             (os.listdir('/usr/lib/postgresql') if os.path.isdir('/usr/lib/postgresql') else [])), reverse=True):
        if candidate and os.path.exists(os.path.join(candidate, 'initdb')):
            return candidate
    found = shutil.which('initdb')
    if found:
        return os.path.dirname(os.path.realpath(found))
    raise SeriesError('postgres: no PostgreSQL server binaries (initdb) found. Install Debian\'s '
                      '`postgresql` package (apt-get install postgresql) or set PG_BINDIR.')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def as_server_user(args):
    """Run args as a non-root user: PostgreSQL refuses to run as root."""
    if os.getuid() != 0:
        return args
    return ['runuser', '-u', 'postgres', '--'] + args


def postgres_tests(python, tree, config, log_dir):
    bindir = postgres_bindir()
    if os.getuid() == 0 and run(['id', 'postgres'], check=False).returncode:
        raise SeriesError('postgres: running as root and there is no `postgres` user to run the '
                          'server as. Create one (useradd --system postgres) or run as a non-root user.')
    tmp = tempfile.mkdtemp(prefix='series-pg-')
    data, sock, port = os.path.join(tmp, 'data'), os.path.join(tmp, 'sock'), free_port()
    os.mkdir(sock)
    if os.getuid() == 0:
        for path in (tmp, sock):
            shutil.chown(path, 'postgres', 'postgres')
    log = os.path.join(tmp, 'server.log')
    started = False
    try:
        run(as_server_user([os.path.join(bindir, 'initdb'), '-D', data, '-U', 'postgres', '-A', 'trust',
                            '-E', 'UTF8', '--locale=C']))
        run(as_server_user([
            os.path.join(bindir, 'pg_ctl'), '-D', data, '-l', log, '-w', '-t', '60', 'start', '-o',
            '-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off '
            '-c full_page_writes=off' % (port, sock)]))
        started = True
        say('postgres: server on 127.0.0.1:%d (data in %s)' % (port, tmp))
        return runtests(python, tree, ['--settings=test_postgres'] + config.postgres_labels +
                        ['--parallel=1', '-v', '1'], os.path.join(log_dir, 'postgres.log'), env={
                            'PYTHONPATH': '%s:%s' % (tree, os.path.join(ROOT, 'settings')),
                            'SERIES_PG_PORT': str(port)})
    finally:
        if started:
            run(as_server_user([os.path.join(bindir, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop']),
                check=False)
        shutil.rmtree(tmp, ignore_errors=True)
