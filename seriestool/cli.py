"""The command line: one subcommand per thing a contributor does."""
import argparse
import sys

from . import bench, commands, port, tree, wheel
from .common import SeriesError, positive_int

DESCRIPTION = 'Maintain a patch series against a pinned Django release and Django main.'


def main(argv=None):
    parser = argparse.ArgumentParser(prog='series', description=DESCRIPTION)
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    upstream_help = 'act on build/upstream and upstream/ (the series on Django main) instead'
    p = sub.add_parser('apply', help='materialize build/django: the base plus every patch')
    p.add_argument('--force', action='store_true',
                   help='replace a tree holding unexported work (it is moved to build/trash/)')
    p.add_argument('--upstream', action='store_true', help=upstream_help)
    p.set_defaults(func=tree.cmd_apply)
    p = sub.add_parser('export', help='write the commits base..HEAD of build/django into patches/')
    p.add_argument('--upstream', action='store_true', help=upstream_help)
    p.set_defaults(func=tree.cmd_export)
    p = sub.add_parser('status', help='say whether build/django and patches/ agree; '
                                      'exit 1 if a fresh apply would lose work')
    p.add_argument('--upstream', action='store_true', help=upstream_help)
    p.set_defaults(func=tree.cmd_status)
    p = sub.add_parser('port', help='carry the commits of build/django onto Django main in build/upstream, '
                                    'then export them to upstream/')
    p.add_argument('--continue', dest='continue_', action='store_true',
                   help='go on after resolving a conflict in build/upstream')
    p.add_argument('--abort', action='store_true', help='give up the port in progress')
    p.add_argument('--force', action='store_true',
                   help='replace a build/upstream holding unexported work (it is moved to build/trash/)')
    p.set_defaults(func=port.cmd_port)
    p = sub.add_parser('drift', help='check that patches/ and upstream/ hold the same patches '
                                     '(count, subjects, order)')
    p.set_defaults(func=port.cmd_drift)
    p = sub.add_parser('run', help='materialize, install into build/venv, run the async tests '
                                   'and the example project')
    p.add_argument('--no-example', action='store_true', help='skip the example project')
    p.set_defaults(func=commands.cmd_run)
    p = sub.add_parser('test', help='the full verification of both series (what CI runs)')
    p.add_argument('--no-suite', action='store_true', help='skip Django\'s full suites')
    p.add_argument('--no-postgres', action='store_true', help='skip the PostgreSQL run')
    p.add_argument('--no-docs', action='store_true', help='skip building the docs')
    p.add_argument('--no-example', action='store_true', help='skip the example project')
    p.add_argument('--no-upstream', action='store_true', help='skip upstream/ and the drift check')
    p.add_argument('--parallel', type=positive_int, default=1, help='processes for the full suites (default 1)')
    p.set_defaults(func=commands.cmd_test)
    p = sub.add_parser('baseline', help='record the failing tests of the unpatched base on its Python')
    p.add_argument('--upstream', action='store_true', help='record the baseline of Django main instead')
    p.add_argument('--parallel', type=positive_int, default=1, help='processes for the suite (default 1)')
    p.set_defaults(func=commands.cmd_baseline)
    p = sub.add_parser('bench', help='run the benchmark scripts in bench/ (ratios measured side by side)')
    p.add_argument('scripts', nargs='*', help='scripts in bench/ to run (default: all)')
    p.add_argument('--venv', action='append', default=[], metavar='NAME',
                   help='also run them with build/django in the [venv NAME] of series.cfg')
    p.add_argument('--reference', action='store_true',
                   help='also run them against the reference release of series.cfg [bench], not the tree')
    p.add_argument('--repeat', type=positive_int, default=1, metavar='N',
                   help='run everything N times, alternating (default: 1)')
    p.set_defaults(func=bench.cmd_bench)
    p = sub.add_parser('wheel', help='build a wheel of the committed build/django into build/dist')
    p.set_defaults(func=wheel.cmd_wheel)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except SeriesError as e:
        print('series: %s' % e, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print('series: interrupted.', file=sys.stderr)
        return 130
