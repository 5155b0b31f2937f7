"""
A materialized tree: the base commit (the untouched archive, tagged `base`)
plus one commit per patch; its export back into patches/ or upstream/, and
the state that tells whether the two agree.
"""
import hashlib
import os
import re
import shutil
import tempfile
import time

from .archives import extract_base
from .common import BUILD, SeriesError, git, rel, say
from .config import read_config, require_upstream

STATE_FILE = 'series-state'  # Inside the tree's .git directory.

# Identity and date of the base commit: fixed, so that every machine makes
# the same base commit from the same archive.
BASE_IDENTITY = {
    'GIT_AUTHOR_NAME': 'series',
    'GIT_AUTHOR_EMAIL': 'series@localhost',
    'GIT_AUTHOR_DATE': '2000-01-01T00:00:00+0000',
    'GIT_COMMITTER_NAME': 'series',
    'GIT_COMMITTER_EMAIL': 'series@localhost',
    'GIT_COMMITTER_DATE': '2000-01-01T00:00:00+0000',
}
# Build products that must not make the tree look modified.
TREE_EXCLUDES = ['__pycache__/', '*.py[cod]', '/docs/_build/', '/build/', '/dist/', '.coverage']
# Options that make `git format-patch` output independent of the user's git
# configuration, so that an export is reproducible byte for byte.
FORMAT_PATCH_CONFIG = [
    '-c', 'diff.algorithm=myers', '-c', 'diff.renames=true',
    '-c', 'diff.noprefix=false', '-c', 'diff.mnemonicPrefix=false',
    '-c', 'diff.context=3', '-c', 'diff.interHunkContext=0',
    '-c', 'diff.relative=false',
    '-c', 'core.quotePath=true', '-c', 'format.signature=',
    '-c', 'format.headers=', '-c', 'format.coverLetter=false',
    '-c', 'format.thread=false', '-c', 'format.useAutoBase=false',
    '-c', 'format.suffix=.patch',
    '-c', 'format.notes=false', '-c', 'format.signOff=false',
    '-c', 'i18n.logOutputEncoding=UTF-8',
]
FORMAT_PATCH_ARGS = [
    'format-patch', '--zero-commit', '--no-signature', '--full-index',
    '--binary', '--no-numbered', '--stat=80', '--encoding=UTF-8',
    '--no-cover-letter', '--no-thread', '--no-notes', '--no-color', '-O/dev/null',
]


# The series file ------------------------------------------------------------

def read_series(base):
    """Return the patch file names listed in the base's series file, in order."""
    if not os.path.exists(base.series_file):
        return []
    names = []
    with open(base.series_file) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if '/' in line or not os.path.isfile(os.path.join(base.patches, line)):
                raise SeriesError(
                    'series: %s line %d names %r, which is not a file in '
                    '%s. Fix the line or restore the patch.' % (base.series_file, lineno, line, base.dirname))
            names.append(line)
    return names


def patches_digest(base):
    """A digest of the series file and the patch files it lists."""
    digest = hashlib.sha256()
    for name in ['series'] + read_series(base):
        path = os.path.join(base.patches, name)
        if os.path.exists(path):
            digest.update(name.encode() + b'\0')
            with open(path, 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()


def touched_files(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        return sorted(set(re.findall(r'^diff --git a/(\S+) ', f.read(), re.M)))


# Making the tree ----------------------------------------------------------

def make_base_repo(tree, base):
    git(tree, 'init', '-q')
    git(tree, 'symbolic-ref', 'HEAD', 'refs/heads/main')
    with open(os.path.join(tree, '.git', 'info', 'exclude'), 'a') as f:
        f.write('\n'.join(TREE_EXCLUDES) + '\n')
    git(tree, '-c', 'core.autocrlf=false', 'add', '--all', '--force', '.')
    git(tree, '-c', 'core.autocrlf=false', 'commit', '-q', '--no-verify', '-m',
        '%s\n\nThe untouched archive %s, sha256 %s.' % (base.title, base.top, base.sha256),
        env=BASE_IDENTITY)
    git(tree, 'tag', 'base')
    # git am needs a committer; keep the user's identity if there is one.
    if not git(tree, 'config', 'user.email', check=False).stdout.strip():
        git(tree, 'config', 'user.email', 'series@localhost')
    if not git(tree, 'config', 'user.name', check=False).stdout.strip():
        git(tree, 'config', 'user.name', 'series')


def apply_patches(tree, base, names):
    """Apply the patches with git am; raise a SeriesError on failure."""
    for index, name in enumerate(names, 1):
        path = os.path.join(base.patches, name)
        args = ['-c', 'core.autocrlf=false', 'am', '--keep-cr', '-q']
        if base.threeway:
            args.append('--3way')
        proc = git(tree, *(args + [path]), check=False)
        if proc.returncode:
            conflicted = git(tree, 'diff', '--name-only', '--diff-filter=U', check=False).stdout.split()
            raise SeriesError(
                'apply: patch %d/%d %s%s does not apply%s.\n'
                '  files it touches: %s\n'
                '  files in conflict: %s\n'
                '%s\n'
                'The tree %s is left in the `git am` state. To resolve: fix the '
                'files there, `git add` them, run `git am --continue` (and the '
                'same for any later patch that stops), then `./series export%s`. '
                'To give up: `git -C %s am --abort`.' % (
                    index, len(names), base.dirname, name,
                    '' if base.threeway else ' with plain `git am` onto %s' % base.title,
                    ', '.join(touched_files(path)) or '(none)',
                    ', '.join(conflicted) or '(none)', proc.stdout.rstrip(), tree,
                    '' if base.key == 'release' else ' --upstream', tree))


def operation_in_progress(tree):
    gitdir = os.path.join(tree, '.git')
    for marker, what in (('rebase-apply', 'a `git am` or rebase'), ('rebase-merge', 'a rebase'),
                         ('MERGE_HEAD', 'a merge'), ('CHERRY_PICK_HEAD', 'a cherry-pick'),
                         ('REVERT_HEAD', 'a revert')):
        if os.path.exists(os.path.join(gitdir, marker)):
            return what
    return None


def uncommitted(tree):
    return git(tree, 'status', '--porcelain', '--untracked-files=all').stdout.rstrip()


def export_to(tree, directory):
    """Write base..HEAD of tree as patch files into directory; return names."""
    proc = git(tree, *(FORMAT_PATCH_CONFIG + FORMAT_PATCH_ARGS + ['-o', directory, 'base..HEAD']),
               env={'LC_ALL': 'C', 'TZ': 'UTC'})
    return [os.path.basename(line) for line in proc.stdout.split('\n') if line.strip()]


def read_state(tree):
    try:
        with open(os.path.join(tree, '.git', STATE_FILE)) as f:
            head, digest = f.read().split()
        return head, digest
    except (OSError, ValueError):
        return None, None


def write_state(tree, base):
    head = git(tree, 'rev-parse', 'HEAD').stdout.strip()
    with open(os.path.join(tree, '.git', STATE_FILE), 'w') as f:
        f.write('%s %s\n' % (head, patches_digest(base)))


def same_file(a, b):
    try:
        with open(a, 'rb') as fa, open(b, 'rb') as fb:
            return fa.read() == fb.read()
    except OSError:
        return False


def tree_report(tree, base):
    """
    Compare the tree with the base's patches. Return (lines, would_lose,
    behind): would_lose is True when a fresh apply would lose work in the
    tree, behind is True when the patches hold changes not applied in it.
    """
    export_cmd = './series export' + ('' if base.key == 'release' else ' --upstream')
    apply_cmd = './series apply' + ('' if base.key == 'release' else ' --upstream')
    if not os.path.isdir(os.path.join(tree, '.git')):
        return ['%s does not exist: run %s.' % (rel(tree), apply_cmd)], False, True
    lines, would_lose = [], False
    operation = operation_in_progress(tree)
    if operation:
        lines.append('%s is in the middle of %s: finish or abort it there.' % (tree, operation))
        would_lose = True
    dirty = uncommitted(tree)
    if dirty:
        lines.append('%s has uncommitted changes (commit them there, then %s):\n%s' % (tree, export_cmd, dirty))
        would_lose = True
    if git(tree, 'rev-parse', '-q', '--verify', 'base', check=False).returncode:
        lines.append('%s has no `base` tag; it was not made by ./series.' % tree)
        return lines, True, True
    if git(tree, 'merge-base', '--is-ancestor', 'base', 'HEAD', check=False).returncode:
        lines.append('HEAD of %s does not descend from `base`.' % tree)
        return lines, True, True
    with tempfile.TemporaryDirectory() as tmp:
        names = export_to(tree, tmp)
        same = names == read_series(base) and all(
            same_file(os.path.join(tmp, n), os.path.join(base.patches, n)) for n in names)
    head = git(tree, 'rev-parse', 'HEAD').stdout.strip()
    recorded_head, recorded_digest = read_state(tree)
    behind = False
    if not same:
        tree_moved = head != recorded_head
        patches_moved = patches_digest(base) != recorded_digest
        if tree_moved or not recorded_head:
            lines.append('%s has changes to the series not exported to %s (%d commits since base): '
                         'run %s.' % (tree, base.dirname, len(names), export_cmd))
            would_lose = True
        if patches_moved:
            lines.append('%s holds changes not applied in %s: run %s.' % (base.dirname, tree, apply_cmd))
            behind = True
    return lines, would_lose, behind


def clear_tree(tree, base, force, what):
    """
    Remove tree to make it anew; refuse if it holds work not exported (or
    move it to build/trash/ with force).
    """
    if not os.path.exists(tree):
        return
    if os.path.isdir(os.path.join(tree, '.git')):
        lines, would_lose, _ = tree_report(tree, base)
    else:
        lines, would_lose = ['%s exists but is not a git repository.' % tree], True
    if would_lose:
        if not force:
            raise SeriesError(
                '%s: refusing to replace %s, it holds work not in %s:\n  %s\n'
                'Export it first (commit in the tree, then ./series export%s), or discard it '
                'with --force (the old tree is moved aside to build/trash/, not deleted).'
                % (what, tree, base.dirname, '\n  '.join(lines), '' if base.key == 'release' else ' --upstream'))
        trash = os.path.join(BUILD, 'trash', '%s-%s' % (os.path.basename(tree), time.strftime('%Y%m%d-%H%M%S')))
        os.makedirs(os.path.dirname(trash), exist_ok=True)
        os.replace(tree, trash)
        say('%s: moved the old tree aside to %s' % (what, trash))
    else:
        shutil.rmtree(tree)


def make_base_tree(tree, base):
    """tree = the base commit of base, tagged `base`, with no patch."""
    extract_base(base, tree)
    make_base_repo(tree, base)


def materialize(tree, base, force=False, what='apply'):
    """Make tree = base + patches; refuse to destroy work."""
    names = read_series(base)
    clear_tree(tree, base, force, what)
    make_base_tree(tree, base)
    apply_patches(tree, base, names)
    write_state(tree, base)
    return names


def export_tree(tree, base, what='export'):
    """Write base..HEAD of tree into the base's patch directory."""
    if not os.path.isdir(os.path.join(tree, '.git')):
        raise SeriesError('%s: %s does not exist; run ./series apply first.' % (what, tree))
    operation = operation_in_progress(tree)
    if operation:
        raise SeriesError('%s: %s is in the middle of %s; finish or abort it first.' % (what, tree, operation))
    dirty = uncommitted(tree)
    if dirty:
        raise SeriesError('%s: %s has uncommitted changes; commit them (or stash them) '
                          'first:\n%s' % (what, tree, dirty))
    os.makedirs(base.patches, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        names = export_to(tree, tmp)
        old = set(read_series(base)) | {f for f in os.listdir(base.patches) if f.endswith('.patch')}
        changed = 0
        for name in names:
            target = os.path.join(base.patches, name)
            if not same_file(os.path.join(tmp, name), target):
                shutil.copyfile(os.path.join(tmp, name), target)
                changed += 1
    for name in sorted(old - set(names)):
        os.remove(os.path.join(base.patches, name))
    with open(base.series_file, 'w') as f:
        f.write(''.join(name + '\n' for name in names))
    write_state(tree, base)
    say('%s: %d patches in %s (%d written, %d removed).' % (
        what, len(names), base.dirname, changed, len(old - set(names))))
    return names


def changed_files(tree, *paths):
    return git(tree, 'diff', '--name-only', '--diff-filter=AM', 'base', 'HEAD', '--', *paths).stdout.split()


def touched_test_modules(tree):
    changed = git(tree, 'diff', '--name-only', 'base', 'HEAD', '--', 'tests').stdout.split()
    return sorted({path.split('/')[1] for path in changed if path.count('/') >= 2})


# Subcommands --------------------------------------------------------------

def chosen_base(config, args, what):
    if getattr(args, 'upstream', False):
        return require_upstream(config, what)
    return config.base


def cmd_apply(args):
    config = read_config()
    base = chosen_base(config, args, 'apply')
    names = materialize(base.tree, base, force=args.force)
    say('apply: %s is %s + %d patches from %s; edit and commit there, then ./series export%s.'
        % (rel(base.tree), base.title, len(names), base.dirname, '' if base.key == 'release' else ' --upstream'))


def cmd_export(args):
    config = read_config()
    base = chosen_base(config, args, 'export')
    export_tree(base.tree, base)


def cmd_status(args):
    config = read_config()
    base = chosen_base(config, args, 'status')
    lines, would_lose, behind = tree_report(base.tree, base)
    if not lines:
        lines = ['%s matches %s (%d patches).' % (rel(base.tree), base.dirname, len(read_series(base)))]
    for line in lines:
        say(line)
    return 1 if would_lose else 0


def ensure_tree(base, what):
    """Materialize the base's tree unless it holds work not exported."""
    lines, would_lose, behind = tree_report(base.tree, base)
    if not os.path.isdir(os.path.join(base.tree, '.git')) or (behind and not would_lose):
        materialize(base.tree, base, what=what)
    elif would_lose:
        say('%s: using %s as it is; it holds work not yet exported.' % (what, rel(base.tree)))
