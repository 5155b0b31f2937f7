"""
Carrying the series from build/django (the release) onto Django main in
build/upstream, and the drift check between patches/ and upstream/.

The port replays the commits base..HEAD of build/django with `git am -3`
on the base commit of main's snapshot. git's rerere records how each
conflict was resolved; the records live in upstream/rerere/, in this
repository, so the next port replays them and stops only at conflicts
nobody has resolved yet.
"""
import difflib
import email
import email.header
import os
import re
import shutil
import subprocess

from .common import SeriesError, git, rel, say
from .config import read_config, require_upstream
from .tree import (
    clear_tree, ensure_tree, export_to, export_tree, make_base_tree, operation_in_progress, read_series,
    uncommitted, write_state,
)

PORT_DIR = 'series-port'  # In build/upstream/.git: the commits being carried.
# Configuration of every `git am` of a port: rerere records resolutions and
# replays them (staging what it resolved).
AM_CONFIG = ['-c', 'core.autocrlf=false', '-c', 'rerere.enabled=true', '-c', 'rerere.autoUpdate=true']


# Recorded resolutions -----------------------------------------------------

def rerere_store(base):
    return os.path.join(base.patches, 'rerere')


def load_resolutions(tree, base):
    """Copy upstream/rerere/ into the tree's rr-cache; return how many."""
    store, cache = rerere_store(base), os.path.join(tree, '.git', 'rr-cache')
    count = 0
    if os.path.isdir(store):
        for entry in sorted(os.listdir(store)):
            files = [n for n in ('preimage', 'postimage') if os.path.isfile(os.path.join(store, entry, n))]
            if len(files) == 2:
                os.makedirs(os.path.join(cache, entry), exist_ok=True)
                for name in files:
                    # A copy with a fresh mtime: `git rerere gc` prunes by age.
                    shutil.copyfile(os.path.join(store, entry, name), os.path.join(cache, entry, name))
                count += 1
    return count


def save_resolutions(tree, base):
    """Copy the resolutions recorded in the tree to upstream/rerere/; return how many are new."""
    store, cache = rerere_store(base), os.path.join(tree, '.git', 'rr-cache')
    new = 0
    if os.path.isdir(cache):
        for entry in sorted(os.listdir(cache)):
            source = os.path.join(cache, entry)
            if not all(os.path.isfile(os.path.join(source, n)) for n in ('preimage', 'postimage')):
                continue  # A conflict not resolved yet.
            target = os.path.join(store, entry)
            if not os.path.isdir(target):
                new += 1
            os.makedirs(target, exist_ok=True)
            for name in ('preimage', 'postimage'):
                shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
    return new


def text_merges_only(tree):
    """
    Make release notes conflict visibly: Django main's .gitattributes merges
    docs/releases/*.txt with the union driver, which never reports a
    conflict and can merge silently wrong (appended files, duplicated
    headings). .git/info/attributes wins over .gitattributes.
    """
    overrides = []
    for path in git(tree, 'ls-files', '--', '.gitattributes', '*/.gitattributes').stdout.split():
        directory = os.path.dirname(path)
        with open(os.path.join(tree, path)) as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 2 and not fields[0].startswith('#') and 'merge=union' in fields[1:]:
                    pattern = fields[0]
                    if directory:
                        pattern = '%s/%s%s' % (directory, '' if '/' in pattern else '**/', pattern.lstrip('/'))
                    overrides.append('%s merge=text\n' % pattern)
    with open(os.path.join(tree, '.git', 'info', 'attributes'), 'a') as f:
        f.write('# ./series port: a visible conflict, never the union driver.\n' + ''.join(overrides))
    return overrides


# What each patch of upstream/ was ported from ----------------------------
#
# upstream/sources has a line per patch of upstream/: its name and the
# `git patch-id --stable` of the patch of patches/ it was ported from (the
# change, whatever the line numbers and blob ids). A port reuses the change
# of a patch of upstream/ as it is (with what main needed beyond the
# conflicts rerere records) while its source's change is the same, with
# the source's message; it ports afresh only the patches whose change
# differs. The drift check reports a patch of upstream/ whose source's
# change or message differs.

def sources_file(base):
    return os.path.join(base.patches, 'sources')


def patch_id(path):
    with open(path, 'rb') as f:
        proc = subprocess.run(['git', 'patch-id', '--stable'], stdin=f, stdout=subprocess.PIPE, check=True)
    return proc.stdout.split()[0].decode() if proc.stdout.strip() else 'none'


def split_patch(path):
    """(message part, change part) of a `git format-patch` file."""
    with open(path, 'rb') as f:
        data = f.read()
    cut = data.find(b'\n---\n')
    return (data, b'') if cut < 0 else (data[:cut], data[cut:])


def read_sources(base):
    """[(upstream patch name, sha256 of its source in patches/)], or None."""
    try:
        with open(sources_file(base)) as f:
            return [tuple(line.split()) for line in f if line.strip()]
    except FileNotFoundError:
        return None


# The port -----------------------------------------------------------------

def port_dir(base):
    return os.path.join(base.tree, '.git', PORT_DIR)


def port_names(base):
    with open(os.path.join(port_dir(base), 'names')) as f:
        return f.read().split()


def files_with_markers(tree):
    """Files changed from HEAD that still hold conflict markers."""
    found = []
    for path in git(tree, 'diff', '--name-only', 'HEAD').stdout.split():
        full = os.path.join(tree, path)
        if os.path.isfile(full):
            with open(full, 'rb') as f:
                if re.search(rb'^(<{7}|>{7})( |$)', f.read(), re.M):
                    found.append(path)
    return found


def current_patch(base):
    """(number, total, name) of the patch `git am` stopped at."""
    apply_dir = os.path.join(base.tree, '.git', 'rebase-apply')
    try:
        with open(os.path.join(apply_dir, 'next')) as f:
            number = int(f.read())
    except (OSError, ValueError):
        return None, None, '(unknown)'
    names = port_names(base)
    with open(os.path.join(port_dir(base), 'offset')) as f:
        number += int(f.read())
    return number, len(names), names[number - 1] if 0 < number <= len(names) else '(unknown)'


def start_port(config, force=False):
    release, upstream = config.base, require_upstream(config, 'port')
    source = release.tree
    if not os.path.isdir(os.path.join(source, '.git')):
        raise SeriesError('port: %s does not exist; run ./series apply, commit your changes there, '
                          'then ./series port.' % rel(source))
    operation = operation_in_progress(source)
    if operation:
        raise SeriesError('port: %s is in the middle of %s; finish or abort it first.' % (rel(source), operation))
    dirty = uncommitted(source)
    if dirty:
        raise SeriesError('port: %s has uncommitted changes; the port carries commits only. Commit '
                          'them there (then ./series export), or stash them:\n%s' % (rel(source), dirty))
    ensure_tree(release, 'port')
    if os.path.isdir(port_dir(upstream)):
        raise SeriesError('port: a port is in progress in %s: resolve and run ./series port --continue, '
                          'or give up with ./series port --abort.' % rel(upstream.tree))
    tree = upstream.tree
    clear_tree(tree, upstream, force, 'port')
    make_base_tree(tree, upstream)
    write_state(tree, upstream)  # At base: an aborted port loses nothing.
    git(tree, 'config', 'rerere.enabled', 'true')
    git(tree, 'config', 'rerere.autoUpdate', 'true')
    text_merges_only(tree)
    known = load_resolutions(tree, upstream)
    # `git am -3` needs the blobs the patches were made from.
    git(tree, 'fetch', '-q', '--no-tags', source, '+HEAD:refs/series/release')
    mbox = port_dir(upstream)
    os.makedirs(mbox)
    names = export_to(source, mbox)
    hashes = [patch_id(os.path.join(mbox, name)) for name in names]
    with open(os.path.join(mbox, 'names'), 'w') as f:
        f.write(''.join(name + '\n' for name in names))
    with open(os.path.join(mbox, 'hashes'), 'w') as f:
        f.write(''.join(h + '\n' for h in hashes))
    patches = [os.path.join(mbox, name) for name in names]
    previous = read_sources(upstream) or []
    reused, fresh, review = [], [], []
    for i, name in enumerate(names):
        if i < len(previous) and previous[i][1] == hashes[i] and \
                os.path.isfile(os.path.join(upstream.patches, previous[i][0])):
            # The change of upstream/ with the message of patches/.
            patches[i] = os.path.join(mbox, 'reused-' + name)
            with open(patches[i], 'wb') as f:
                f.write(split_patch(os.path.join(mbox, name))[0])
                f.write(split_patch(os.path.join(upstream.patches, previous[i][0]))[1])
            reused.append(previous[i][0])
        else:
            fresh.append(name)
            if i < len(previous):
                review.append(i)
    if previous:
        # The previous port, as refs/series/previous/N: `git am -3` of a
        # reused patch needs its blobs, and a patch ported afresh is
        # compared with it.
        git(tree, 'checkout', '-q', '-b', 'series-previous')
        old = [os.path.join(upstream.patches, n) for n, h in previous
               if os.path.isfile(os.path.join(upstream.patches, n))]
        if git(tree, 'am', '-q', *old, check=False).returncode:
            git(tree, 'am', '--abort', check=False)
        commits = git(tree, 'rev-list', '--reverse', 'base..HEAD').stdout.split()
        for number, commit in enumerate(commits, 1):
            git(tree, 'update-ref', 'refs/series/previous/%d' % number, commit)
        git(tree, 'checkout', '-q', '-')
        git(tree, 'branch', '-q', '-D', 'series-previous')
    # Batches of patches: the port stops after each patch ported afresh that
    # had a previous port, for what main needs beyond the conflicts.
    with open(os.path.join(mbox, 'queue'), 'w') as f:
        for i, path in enumerate(patches):
            f.write('%s %d\n' % (path, i in review))
    say('port: carrying %d commits of %s onto %s in %s (git am -3; %d recorded resolutions from %s).' % (
        len(names), rel(source), upstream.title, rel(tree), known, rel(rerere_store(upstream)) + '/'))
    if reused:
        say('port: reusing %d patches of %s whose source in %s is unchanged.' % (
            len(reused), upstream.dirname, release.dirname))
    if fresh and previous:
        say('port: porting afresh what changed in %s: %s.' % (release.dirname, ', '.join(fresh)))
    return drive(config, upstream, next_batch(upstream))


def next_batch(upstream):
    """Apply the queued patches up to the next one to review; None if none is left."""
    mbox = port_dir(upstream)
    with open(os.path.join(mbox, 'queue')) as f:
        queue = [line.rsplit(' ', 1) for line in f.read().splitlines()]
    if not queue:
        return None
    end = next((i + 1 for i, (path, review) in enumerate(queue) if review == '1'), len(queue))
    names = port_names(upstream)
    with open(os.path.join(mbox, 'offset'), 'w') as f:
        f.write(str(len(names) - len(queue)))
    with open(os.path.join(mbox, 'queue'), 'w') as f:
        f.write(''.join(' '.join(pair) + '\n' for pair in queue[end:]))
    with open(os.path.join(mbox, 'review'), 'w') as f:
        f.write(str(len(names) - len(queue) + end) if queue[end - 1][1] == '1' else '')
    return git(upstream.tree, *(AM_CONFIG + ['am', '-3', '--keep-cr'] + [path for path, review in queue[:end]]),
               check=False)


def review_message(upstream, number):
    names = port_names(upstream)
    tree = rel(upstream.tree)
    return (
        'port: patch %d/%d %s was ported afresh: its change in patches/ differs from the one upstream/ '
        'was ported from, and rerere carries only the resolutions of conflicts. Compare it with its '
        'previous port, `git -C %s diff refs/series/previous/%d HEAD` (what changed in patches/, and '
        'what main needed beyond the conflicts), make the latter again if it is still needed (`git -C '
        '%s commit --amend`), then run ./series port --continue.' % (
            number, len(names), names[number - 1], tree, number, tree))


def drive(config, upstream, proc):
    """Continue past conflicts rerere resolved; stop at the others and for review; finish."""
    tree = upstream.tree
    while proc is not None:
        if not proc.returncode:
            with open(os.path.join(port_dir(upstream), 'review')) as f:
                review = f.read().strip()
            if review:
                raise SeriesError(review_message(upstream, int(review)))
            proc = next_batch(upstream)
            continue
        if not operation_in_progress(tree):
            raise SeriesError('port: git am failed in %s:\n%s' % (rel(tree), proc.stdout.rstrip()))
        number, total, name = current_patch(upstream)
        unmerged = git(tree, 'diff', '--name-only', '--diff-filter=U').stdout.split()
        markers = files_with_markers(tree)
        save_resolutions(tree, upstream)
        replayed = re.findall(r"^(?:Resolved|Staged) '(.+?)' using previous resolution", proc.stdout, re.M)
        staged = git(tree, 'diff', '--cached', '--quiet', check=False).returncode
        if replayed and not unmerged and not markers and staged:
            say('port: patch %d/%d %s: replayed the recorded resolution of %s.' % (
                number, total, name, ', '.join(replayed)))
            proc = git(tree, *(AM_CONFIG + ['am', '--continue']), check=False)
            continue
        raise SeriesError(conflict_message(upstream, number, total, name, unmerged, markers, proc.stdout))
    return finish_port(config, upstream)


def conflict_message(upstream, number, total, name, unmerged, markers, output):
    tree = rel(upstream.tree)
    return (
        'port: patch %d/%d %s conflicts with %s.\n'
        '  files in conflict: %s\n'
        '%s'
        '%s\n'
        '%s is left in the `git am` state. To resolve: edit the files there (remove the conflict '
        'markers; release notes conflict visibly here, the union driver of main\'s .gitattributes is '
        'off for the port: read them, one title, no duplicated headings, items in main\'s sections), '
        '`git -C %s add` them (`git rm` for a file the patch should not have), then run '
        '`./series port --continue`. rerere records each resolution into %s so the next port '
        'replays it: commit that directory with upstream/. To give up: ./series port --abort.' % (
            number or 0, total or 0, name, upstream.title, ', '.join(unmerged) or '(none)',
            '  files still holding conflict markers: %s\n' % ', '.join(markers) if markers else '',
            output.rstrip(), tree, tree, rel(rerere_store(upstream)) + '/'))


def continue_port(config):
    upstream = require_upstream(config, 'port')
    tree = upstream.tree
    if not os.path.isdir(port_dir(upstream)):
        raise SeriesError('port: no port in progress in %s; start one with ./series port.' % rel(tree))
    if not operation_in_progress(tree):
        # After a review stop, or `git am --continue` run by hand.
        return drive(config, upstream, next_batch(upstream))
    number, total, name = current_patch(upstream)
    unmerged = git(tree, 'diff', '--name-only', '--diff-filter=U').stdout.split()
    markers = files_with_markers(tree)
    if unmerged or markers:
        raise SeriesError(
            'port: patch %d/%d %s is not resolved yet in %s.\n%s%s'
            'Edit the files, `git -C %s add` them, then run ./series port --continue again.' % (
                number or 0, total or 0, name, rel(tree),
                '  unmerged (not added yet): %s\n' % ', '.join(unmerged) if unmerged else '',
                '  still holding conflict markers: %s\n' % ', '.join(markers) if markers else '',
                rel(tree)))
    git(tree, *(AM_CONFIG + ['rerere']), check=False)  # Record the resolution.
    save_resolutions(tree, upstream)
    proc = git(tree, *(AM_CONFIG + ['am', '--continue']), check=False)
    return drive(config, upstream, proc)


def abort_port(config):
    upstream = require_upstream(config, 'port')
    tree = upstream.tree
    if os.path.isdir(os.path.join(tree, '.git')) and operation_in_progress(tree):
        git(tree, 'am', '--abort')
    shutil.rmtree(port_dir(upstream), ignore_errors=True)
    say('port: aborted; %s is back at the base of %s; upstream/ is unchanged.' % (rel(tree), upstream.title))


def finish_port(config, upstream):
    tree = upstream.tree
    new = save_resolutions(tree, upstream)
    names = export_tree(tree, upstream, 'port')
    with open(os.path.join(port_dir(upstream), 'hashes')) as f:
        hashes = f.read().split()
    with open(sources_file(upstream), 'w') as f:
        f.write(''.join('%s %s\n' % pair for pair in zip(names, hashes)))
    shutil.rmtree(port_dir(upstream), ignore_errors=True)
    stored = len(os.listdir(rerere_store(upstream))) if os.path.isdir(rerere_store(upstream)) else 0
    say('port: %d patches exported to %s; %d recorded resolutions in %s (%d new): '
        'commit upstream/ (patches and rerere/).' % (
            len(names), upstream.dirname, stored, rel(rerere_store(upstream)) + '/', new))
    return 1 if report_drift(config) else 0


def cmd_port(args):
    config = read_config()
    if args.abort:
        return abort_port(config)
    if args.continue_:
        return continue_port(config)
    return start_port(config, force=args.force)


# Drift --------------------------------------------------------------------

def subject_of(path):
    with open(path, 'rb') as f:
        message = email.message_from_binary_file(f)
    subject = str(email.header.make_header(email.header.decode_header(message['Subject'] or '')))
    subject = re.sub(r'\s+', ' ', subject).strip()
    return re.sub(r'^\[PATCH[^\]]*\]\s*', '', subject)


def subjects(base):
    return [subject_of(os.path.join(base.patches, name)) for name in read_series(base)]


def drift(config):
    """
    Compare the subjects of patches/ and upstream/, in order. Return
    (problems, warning): problems is empty when both series agree; warning
    is set instead when upstream/series does not exist yet.
    """
    release, upstream = config.base, require_upstream(config, 'drift')
    ours = subjects(release)
    if not os.path.exists(upstream.series_file):
        return [], ('%s does not exist yet: the series (%d patches) has not been ported to %s. '
                    'Run ./series port, then commit upstream/. (A warning until upstream/series '
                    'exists; drift fails the run from then on.)' % (
                        rel(upstream.series_file), len(ours), upstream.title))
    theirs = subjects(upstream)
    if ours == theirs:
        sources = read_sources(upstream)
        if sources is None:
            return [], '%s does not exist: run ./series port to record what upstream/ was ported from.' % (
                rel(sources_file(upstream)))
        stale = []
        for (name, recorded), ours_name in zip(sources, read_series(release)):
            source = os.path.join(release.patches, ours_name)
            if recorded != patch_id(source):
                stale.append('  %s was ported from another version of %s%s: run ./series port.' % (
                    name, release.dirname, ours_name))
            elif split_patch(source)[0] != split_patch(os.path.join(upstream.patches, name))[0]:
                stale.append('  %s has another message than %s%s: run ./series port.' % (
                    name, release.dirname, ours_name))
        if len(sources) != len(ours):
            stale.append('  %s lists %d patches, not %d.' % (rel(sources_file(upstream)), len(sources), len(ours)))
        return stale, None
    problems = ['%s has %d patches, %s has %d.' % (release.dirname, len(ours), upstream.dirname, len(theirs))]
    matcher = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == 'equal':
            continue
        if tag in ('replace', 'delete'):
            problems += ['  %s %d only: %s' % (release.dirname, i + 1, ours[i]) for i in range(i1, i2)]
        if tag in ('replace', 'insert'):
            problems += ['  %s %d only: %s' % (upstream.dirname, j + 1, theirs[j]) for j in range(j1, j2)]
    if sorted(ours) == sorted(theirs):
        problems.append('  (the same subjects in another order)')
    problems.append('Carry the series over with ./series port (then commit upstream/), or fix the '
                    'subjects in build/django and export.')
    return problems, None


def report_drift(config):
    """Print the drift check; return True if the series drifted."""
    problems, warning = drift(config)
    if warning:
        say('drift: WARNING: %s' % warning)
    for line in problems:
        say('drift: %s' % line)
    if not problems and not warning:
        say('drift: %s and %s hold the same %d patches (same subjects, same order, and upstream/ '
            'ported from these versions).' % (
                config.base.dirname, config.upstream.dirname, len(read_series(config.base))))
    return bool(problems)


def cmd_drift(args):
    return 1 if report_drift(read_config()) else 0
