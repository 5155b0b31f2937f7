"""
Tests of the ./series tool on a tiny fake sdist: no network, no Django.

Each test copies the tool into a temporary project with its own series.cfg
and a pre-filled download cache, and runs it as a contributor would.
"""
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(REPO, 'series')
PACKAGE = os.path.join(REPO, 'seriestool')

FILES = {
    'README': 'A fake project.\n',
    'pkg/__init__.py': 'VERSION = 1\n',
    'pkg/core.py': 'def answer():\n    return 42\n',
}


def make_sdist(path, files=FILES, top='Fake-1.0'):
    with tarfile.open(path, 'w:gz') as archive:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo('%s/%s' % (top, name))
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            info.uid = info.gid = 12345  # Not the user running the tests.
            archive.addfile(info, io.BytesIO(data))


class ToolTestCase(unittest.TestCase):
    """A temporary project holding the tool, with a fake base in its download cache."""
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.project = os.path.join(self.tmp, 'project')
        self.cache = os.path.join(self.tmp, 'cache')
        os.makedirs(os.path.join(self.project, 'patches'))
        os.makedirs(self.cache)
        shutil.copy(TOOL, self.project)
        shutil.copytree(PACKAGE, os.path.join(self.project, 'seriestool'),
                        ignore=shutil.ignore_patterns('__pycache__'))
        sdist = os.path.join(self.cache, 'Fake-1.0.tar.gz')
        make_sdist(sdist)
        with open(sdist, 'rb') as f:
            self.sha256 = hashlib.sha256(f.read()).hexdigest()
        self.write_config(self.sha256)
        self.tree = os.path.join(self.project, 'build', 'django')
        self.env = dict(os.environ, SERIES_CACHE=self.cache, GIT_CONFIG_NOSYSTEM='1',
                        HOME=self.tmp, GIT_AUTHOR_NAME='Tester', GIT_AUTHOR_EMAIL='tester@example.com',
                        GIT_COMMITTER_NAME='Tester', GIT_COMMITTER_EMAIL='tester@example.com')

    def write_config(self, sha256):
        with open(os.path.join(self.project, 'series.cfg'), 'w') as f:
            f.write('[base]\nname = Fake\nversion = 1.0\nsha256 = %s\n' % sha256)

    def series(self, *args, expect=0):
        proc = subprocess.run(
            [sys.executable, os.path.join(self.project, 'series')] + list(args),
            cwd=self.project, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True, timeout=120,
        )
        if expect is not None:
            self.assertEqual(proc.returncode, expect, proc.stdout)
        return proc.stdout

    def git(self, *args, cwd=None):
        return subprocess.run(
            ['git', '-C', cwd or self.tree] + list(args), env=self.env, check=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
        ).stdout

    def commit_change(self, path, text, message):
        with open(os.path.join(self.tree, path), 'w') as f:
            f.write(text)
        self.git('add', path)
        self.git('commit', '-q', '-m', message)

    def patch_files(self):
        directory = os.path.join(self.project, 'patches')
        result = {}
        for name in sorted(os.listdir(directory)):
            with open(os.path.join(directory, name), 'rb') as f:
                result[name] = f.read()
        return result


class SeriesToolTests(ToolTestCase):
    def test_apply_materializes_base(self):
        output = self.series('apply')
        self.assertIn('0 patches', output)
        with open(os.path.join(self.tree, 'pkg', 'core.py')) as f:
            self.assertEqual(f.read(), FILES['pkg/core.py'])
        self.assertEqual(self.git('rev-parse', 'base').strip(), self.git('rev-parse', 'HEAD').strip())
        self.assertEqual(os.stat(os.path.join(self.tree, 'README')).st_uid, os.getuid())
        self.assertEqual(self.git('status', '--porcelain'), '')

    def test_base_commit_is_reproducible(self):
        self.series('apply')
        first = self.git('rev-parse', 'base').strip()
        shutil.rmtree(self.tree)
        self.series('apply')
        self.assertEqual(self.git('rev-parse', 'base').strip(), first)

    def test_export_apply_round_trip(self):
        self.series('apply')
        self.commit_change('pkg/core.py', 'def answer():\n    return 43\n', 'Changed the answer.\n\nBecause.')
        self.commit_change('pkg/new.py', 'X = 1\n', 'Added pkg.new.')
        output = self.series('export')
        self.assertIn('2 patches', output)
        files = self.patch_files()
        self.assertEqual(files['series'], b'0001-Changed-the-answer.patch\n0002-Added-pkg.new.patch\n')
        self.assertIn(b'Subject: [PATCH] Changed the answer.', files['0001-Changed-the-answer.patch'])
        self.assertIn('matches patches/', self.series('status'))
        # A fresh tree made from the patches holds the same commits.
        tree_before = self.git('rev-parse', 'HEAD^{tree}').strip()
        shutil.rmtree(os.path.join(self.project, 'build'))
        self.series('apply')
        self.assertEqual(self.git('rev-parse', 'HEAD^{tree}').strip(), tree_before)
        self.assertEqual(self.git('log', '--format=%s', 'base..HEAD').split('\n')[:2],
                         ['Added pkg.new.', 'Changed the answer.'])
        self.assertIn('matches patches/', self.series('status'))

    def test_export_is_deterministic(self):
        self.series('apply')
        self.commit_change('pkg/core.py', 'def answer():\n    return 43\n', 'Changed the answer.')
        self.series('export')
        first = self.patch_files()
        self.series('export')
        self.assertEqual(self.patch_files(), first)
        # The same commits re-applied on another day by another committer
        # export to the same bytes.
        shutil.rmtree(os.path.join(self.project, 'build'))
        self.env['GIT_COMMITTER_NAME'] = 'Someone Else'
        self.env['GIT_COMMITTER_DATE'] = '2030-01-01T00:00:00+0000'
        self.series('apply')
        self.series('export')
        self.assertEqual(self.patch_files(), first)

    def test_export_removes_stale_patches(self):
        self.series('apply')
        self.commit_change('pkg/core.py', 'def answer():\n    return 43\n', 'Changed the answer.')
        self.commit_change('pkg/new.py', 'X = 1\n', 'Added pkg.new.')
        self.series('export')
        self.git('reset', '-q', '--hard', 'HEAD~1')
        self.series('export')
        self.assertEqual(sorted(self.patch_files()), ['0001-Changed-the-answer.patch', 'series'])

    def test_sha256_mismatch(self):
        self.write_config('0' * 64)
        output = self.series('apply', expect=1)
        self.assertIn('sha256', output)
        self.assertIn('Nothing was extracted', output)
        self.assertFalse(os.path.exists(self.tree))

    def test_patch_that_does_not_apply(self):
        self.series('apply')
        self.commit_change('pkg/core.py', 'def answer():\n    return 43\n', 'Changed the answer.')
        self.series('export')
        patch = os.path.join(self.project, 'patches', '0001-Changed-the-answer.patch')
        with open(patch) as f:
            text = f.read()
        with open(patch, 'w') as f:
            f.write(text.replace('-    return 42', '-    return 41'))
        shutil.rmtree(os.path.join(self.project, 'build'))
        output = self.series('apply', expect=1)
        self.assertIn('patch 1/1 patches/0001-Changed-the-answer.patch does not apply', output)
        self.assertIn('files it touches: pkg/core.py', output)
        self.assertIn('git am --continue', output)
        self.assertTrue(os.path.isdir(os.path.join(self.tree, '.git', 'rebase-apply')))
        # The tree in the middle of `git am` is not replaced without --force.
        output = self.series('apply', expect=1)
        self.assertIn('refusing to replace', output)
        self.assertEqual(self.series('status', expect=1).count('git am'), 1)

    def test_refuses_to_destroy_uncommitted_work(self):
        self.series('apply')
        with open(os.path.join(self.tree, 'pkg', 'core.py'), 'a') as f:
            f.write('# work in progress\n')
        output = self.series('apply', expect=1)
        self.assertIn('refusing to replace', output)
        self.assertIn('--force', output)
        self.assertIn('uncommitted changes', self.series('status', expect=1))
        self.assertIn('uncommitted changes', self.series('export', expect=1))
        with open(os.path.join(self.tree, 'pkg', 'core.py')) as f:
            self.assertIn('work in progress', f.read())

    def test_refuses_to_destroy_unexported_commits(self):
        self.series('apply')
        self.commit_change('pkg/core.py', 'def answer():\n    return 43\n', 'Changed the answer.')
        self.assertIn('not exported', self.series('status', expect=1))
        self.assertIn('refusing to replace', self.series('apply', expect=1))
        # --force moves the tree aside instead of deleting it.
        output = self.series('apply', '--force')
        self.assertIn('moved the old tree aside', output)
        trash = os.path.join(self.project, 'build', 'trash')
        (old,) = os.listdir(trash)
        self.assertEqual(self.git('log', '-1', '--format=%s', cwd=os.path.join(trash, old)).strip(),
                         'Changed the answer.')
        self.assertEqual(self.git('rev-parse', 'HEAD').strip(), self.git('rev-parse', 'base').strip())

    def test_status_reports_patches_not_applied(self):
        self.series('apply')
        self.commit_change('pkg/core.py', 'def answer():\n    return 43\n', 'Changed the answer.')
        self.series('export')
        self.git('reset', '-q', '--hard', 'base')
        # The tree moved back: its state differs from patches/ and the
        # commit is only in patches/, so a fresh apply loses nothing... but
        # the tree's HEAD moved, which status must report as unexported.
        self.series('status', expect=1)
        self.series('apply', '--force')
        self.assertIn('matches patches/', self.series('status'))
        # patches/ changed behind the tree's back (e.g. a git pull).
        with open(os.path.join(self.project, 'patches', 'series'), 'w') as f:
            f.write('')
        output = self.series('status')
        self.assertIn('patches/ holds changes not applied', output)
        self.series('apply')
        self.assertEqual(self.git('rev-parse', 'HEAD').strip(), self.git('rev-parse', 'base').strip())

    def test_series_names_a_missing_patch(self):
        with open(os.path.join(self.project, 'patches', 'series'), 'w') as f:
            f.write('0001-missing.patch\n')
        output = self.series('apply', expect=1)
        self.assertIn("names '0001-missing.patch'", output)

    def test_unsafe_archive_is_refused(self):
        make_sdist(os.path.join(self.cache, 'Fake-1.0.tar.gz'), {'../evil': 'x'})
        with open(os.path.join(self.cache, 'Fake-1.0.tar.gz'), 'rb') as f:
            self.write_config(hashlib.sha256(f.read()).hexdigest())
        output = self.series('apply', expect=1)
        self.assertIn('unexpected entry', output)
        self.assertFalse(os.path.exists(os.path.join(self.project, 'build', 'evil')))
        self.assertFalse(os.path.exists(self.tree))

    def test_wheel_refuses_uncommitted_changes(self):
        self.series('apply')
        with open(os.path.join(self.tree, 'pkg', 'core.py'), 'a') as f:
            f.write('# work in progress\n')
        output = self.series('wheel', expect=1)
        self.assertIn('uncommitted changes, which a wheel built from its commits would leave out', output)
        self.assertFalse(os.path.exists(os.path.join(self.project, 'build', 'dist')))

    def test_bench_rejects_bad_arguments(self):
        """Bad bench arguments fail before anything is built or downloaded."""
        os.makedirs(os.path.join(self.project, 'bench'))
        output = self.series('bench', '--repeat', '0', expect=2)
        self.assertIn("'0' is not a positive integer", output)
        output = self.series('bench', 'missing.py', expect=1)
        self.assertIn('no script missing.py in bench/', output)
        output = self.series('bench', '--venv', 'nope', expect=1)
        self.assertIn('no [venv nope] in series.cfg', output)
        self.assertFalse(os.path.exists(os.path.join(self.project, 'build')))


class UpstreamTests(ToolTestCase):
    """A second base (a fake 'main'): ./series port, drift and apply --upstream."""
    MAIN_FILES = dict(FILES, **{
        # main changed the line the series changes: a port conflicts there.
        'pkg/core.py': 'def answer():\n    return 42  # main\n',
        '.gitattributes': 'docs/releases/*.txt merge=union\n',
        'docs/releases/1.1.txt': 'Release notes\n=============\n\nMinor features\n--------------\n\n* A.\n',
    })

    def setUp(self):
        super().setUp()
        shared = os.path.join(self.tmp, 'shared')
        os.makedirs(shared)
        archive = os.path.join(shared, 'fake-main.tar.gz')
        make_sdist(archive, self.MAIN_FILES, top='fake-main')
        with open(archive, 'rb') as f:
            main_sha256 = hashlib.sha256(f.read()).hexdigest()
        with open(os.path.join(self.project, 'series.cfg'), 'a') as f:
            f.write('[upstream]\ntitle = Fake main\narchive = ../shared/fake-main.tar.gz\n'
                    'sha256 = %s\ntop = fake-main\n' % main_sha256)
        self.upstream_tree = os.path.join(self.project, 'build', 'upstream')
        self.series('apply')

    def test_port_without_conflict(self):
        self.commit_change('pkg/new.py', 'X = 1\n', 'Added pkg.new.')
        self.series('export')
        output = self.series('port')
        self.assertIn('1 patches exported to upstream/', output)
        self.assertIn('hold the same 1 patches', output)
        with open(os.path.join(self.project, 'upstream', 'series')) as f:
            self.assertEqual(f.read(), '0001-Added-pkg.new.patch\n')
        self.assertEqual(self.git('log', '--format=%s', 'base..HEAD', cwd=self.upstream_tree).strip(),
                         'Added pkg.new.')
        self.series('drift')
        # upstream/ applies with plain git am onto main.
        shutil.rmtree(self.upstream_tree)
        self.assertIn('1 patches from upstream/', self.series('apply', '--upstream'))
        self.assertIn('matches upstream/', self.series('status', '--upstream'))

    def test_port_conflict_is_resolved_once(self):
        self.commit_change('pkg/core.py', 'def answer():\n    return 43\n', 'Changed the answer.')
        self.series('export')
        output = self.series('port', expect=1)
        self.assertIn('patch 1/1 0001-Changed-the-answer.patch conflicts with Fake main', output)
        self.assertIn('files in conflict: pkg/core.py', output)
        self.assertIn('./series port --continue', output)
        self.assertIn('./series port --abort', output)
        self.assertFalse(os.path.exists(os.path.join(self.project, 'upstream', 'series')))
        # Not resolved yet: --continue says what is left.
        output = self.series('port', '--continue', expect=1)
        self.assertIn('not resolved yet', output)
        self.assertIn('pkg/core.py', output)
        with open(os.path.join(self.upstream_tree, 'pkg', 'core.py'), 'w') as f:
            f.write('def answer():\n    return 43  # main\n')
        self.git('add', 'pkg/core.py', cwd=self.upstream_tree)
        output = self.series('port', '--continue')
        self.assertIn('1 patches exported to upstream/', output)
        rerere = os.path.join(self.project, 'upstream', 'rerere')
        self.assertEqual(len(os.listdir(rerere)), 1)
        # The next port of that patch replays the recorded resolution
        # (without upstream/sources, nothing of upstream/ is reused).
        os.remove(os.path.join(self.project, 'upstream', 'sources'))
        self.commit_change('pkg/new.py', 'X = 1\n', 'Added pkg.new.')
        self.series('export')
        output = self.series('port')
        self.assertIn('replayed the recorded resolution of pkg/core.py', output)
        self.assertIn('2 patches exported to upstream/', output)
        with open(os.path.join(self.upstream_tree, 'pkg', 'core.py')) as f:
            self.assertEqual(f.read(), 'def answer():\n    return 43  # main\n')
        # A port that stopped can be given up.
        self.commit_change('pkg/core.py', 'def answer():\n    return 44\n', 'Changed the answer again.')
        self.series('export')
        self.assertIn('patch 3/3 0003-Changed-the-answer-again.patch conflicts', self.series('port', expect=1))
        self.assertIn('a port is in progress', self.series('port', expect=1))
        self.assertIn('aborted', self.series('port', '--abort'))
        self.assertEqual(self.git('rev-parse', 'HEAD', cwd=self.upstream_tree),
                         self.git('rev-parse', 'base', cwd=self.upstream_tree))

    def test_port_reuses_unchanged_patches(self):
        """
        A port keeps what was changed for main beyond the conflicts, in the
        patches whose source is unchanged, and the drift check reports a
        patch of upstream/ whose source changed.
        """
        self.commit_change('pkg/new.py', 'X = 1\n', 'Added pkg.new.')
        self.commit_change('pkg/other.py', 'Y = 1\n', 'Added pkg.other.')
        self.series('export')
        self.series('port')
        # A change main needs that isn't a conflict: made by hand in the port.
        tip = self.git('rev-parse', 'HEAD', cwd=self.upstream_tree).strip()
        self.git('reset', '-q', '--hard', 'HEAD~1', cwd=self.upstream_tree)
        with open(os.path.join(self.upstream_tree, 'pkg', 'new.py'), 'w') as f:
            f.write('X = 1  # main\n')
        self.git('commit', '-q', '-a', '--amend', '--no-edit', cwd=self.upstream_tree)
        self.git('cherry-pick', tip, cwd=self.upstream_tree)
        self.series('export', '--upstream')
        self.series('drift')
        # The second patch changes: it's ported afresh, the first is reused.
        self.commit_change('pkg/other.py', 'Y = 2\n', 'Changed pkg.other.')
        self.git('reset', '-q', '--soft', 'HEAD~2')
        self.git('commit', '-q', '-m', 'Added pkg.other.')
        self.series('export')
        output = self.series('drift', expect=1)
        self.assertIn('0002-Added-pkg.other.patch was ported from another version of patches/', output)
        output = self.series('port', expect=1)
        self.assertIn('reusing 1 patches of upstream/', output)
        self.assertIn('porting afresh what changed in patches/: 0002-Added-pkg.other.patch', output)
        # It stops there, for what main needs beyond the conflicts.
        self.assertIn('patch 2/2 0002-Added-pkg.other.patch was ported afresh', output)
        self.assertIn('diff refs/series/previous/2 HEAD', output)
        output = self.series('port', '--continue')
        self.assertIn('2 patches exported to upstream/', output)
        with open(os.path.join(self.upstream_tree, 'pkg', 'new.py')) as f:
            self.assertEqual(f.read(), 'X = 1  # main\n')
        with open(os.path.join(self.upstream_tree, 'pkg', 'other.py')) as f:
            self.assertEqual(f.read(), 'Y = 2\n')
        self.series('drift')
        # A new message only: the change of upstream/ is reused, with it.
        tip = self.git('rev-parse', 'HEAD').strip()
        self.git('reset', '-q', '--hard', 'HEAD~1')
        self.git('commit', '-q', '--amend', '-m', 'Added pkg.new.\n\nWhy.')
        self.git('cherry-pick', tip)
        self.series('export')
        self.assertIn('0001-Added-pkg.new.patch has another message than patches/', self.series('drift', expect=1))
        self.assertIn('reusing 2 patches of upstream/', self.series('port'))
        self.assertEqual(self.git('log', '-1', '--format=%b', 'HEAD~1', cwd=self.upstream_tree).strip(), 'Why.')
        with open(os.path.join(self.upstream_tree, 'pkg', 'new.py')) as f:
            self.assertEqual(f.read(), 'X = 1  # main\n')

    def test_release_notes_conflict_visibly(self):
        """main's union merge driver is off: release notes conflict instead of merging silently."""
        os.makedirs(os.path.join(self.tree, 'docs', 'releases'))
        self.commit_change('docs/releases/1.1.txt', 'Release notes\n=============\n\n* B.\n',
                           'Added a release note.')
        self.series('export')
        output = self.series('port', expect=1)
        self.assertIn('files in conflict: docs/releases/1.1.txt', output)

    def test_port_refuses_to_clobber_build_upstream(self):
        self.commit_change('pkg/new.py', 'X = 1\n', 'Added pkg.new.')
        self.series('export')
        self.series('port')
        with open(os.path.join(self.upstream_tree, 'pkg', 'new.py'), 'w') as f:
            f.write('X = 2\n')
        self.git('commit', '-q', '-am', 'Changed pkg.new on main.', cwd=self.upstream_tree)
        output = self.series('port', expect=1)
        self.assertIn('refusing to replace', output)
        self.assertIn('not exported to upstream/', output)
        self.assertIn('refusing to replace', self.series('apply', '--upstream', expect=1))
        output = self.series('port', '--force')
        self.assertIn('moved the old tree aside', output)
        (old,) = os.listdir(os.path.join(self.project, 'build', 'trash'))
        self.assertEqual(self.git('log', '-1', '--format=%s', cwd=os.path.join(
            self.project, 'build', 'trash', old)).strip(), 'Changed pkg.new on main.')

    def test_drift(self):
        self.commit_change('pkg/new.py', 'X = 1\n', 'Added pkg.new.')
        self.series('export')
        # Before upstream/series exists: a warning, not a failure.
        self.assertIn('WARNING: upstream/series does not exist yet', self.series('drift'))
        os.makedirs(os.path.join(self.project, 'upstream'))
        with open(os.path.join(self.project, 'upstream', 'series'), 'w') as f:
            f.write('')
        output = self.series('drift', expect=1)
        self.assertIn('patches/ has 1 patches, upstream/ has 0', output)
        self.assertIn('patches/ 1 only: Added pkg.new.', output)
        self.series('port')
        self.series('drift')
        # A subject changed on one side only.
        self.git('commit', '-q', '--amend', '-m', 'Added the pkg.new module.')
        self.series('export')
        output = self.series('drift', expect=1)
        self.assertIn('patches/ 1 only: Added the pkg.new module.', output)
        self.assertIn('upstream/ 1 only: Added pkg.new.', output)


class FailingIdsTests(unittest.TestCase):
    def setUp(self):
        sys.path.insert(0, REPO)
        self.addCleanup(sys.path.remove, REPO)
        from seriestool import checks
        self.tool = checks

    def test_python_311_and_older_formats(self):
        output = (
            'ERROR: test_a (app.tests.ATests.test_a)\n'
            'FAIL: test_b (app.tests.BTests)\n'
            'FAIL: test_c (app.tests.CTests.test_c) [subtest] (x=1)\n'
            'ERROR: setUpClass (app.tests.DTests)\n'
            'UNEXPECTED SUCCESS: test_e (app.tests.ETests.test_e)\n'
            'ok FAIL: not a result line\n'
        )
        self.assertEqual(self.tool.failing_ids(output), {
            'app.tests.ATests.test_a', 'app.tests.BTests.test_b', 'app.tests.CTests.test_c',
            'app.tests.DTests.setUpClass', 'app.tests.ETests.test_e',
        })

    def test_counts(self):
        from seriestool import wheel
        self.assertEqual(self.tool.skipped_count('Ran 9 tests in 1s\n\nOK (skipped=3)\n'), 3)
        self.assertEqual(self.tool.skipped_count(
            'Ran 9 tests in 1s\n\nFAILED (failures=1, errors=2, skipped=4, expected failures=1)\n'), 4)
        self.assertEqual(self.tool.skipped_count('Ran 9 tests in 1s\n\nOK\n'), 0)
        self.assertEqual(wheel.count_unittest('Ran 7 tests in 0.1s\n\nFAILED (failures=1, errors=1, skipped=2)\n'),
                         (7, 2, 2))
        self.assertEqual(wheel.count_pytest('==== 5 passed, 1 failed, 2 skipped, 1 warning in 1.20s ====\n'),
                         (6, 1, 2))


if __name__ == '__main__':
    unittest.main()
