"""
Compare the per-request cost of django.test.AsyncClient and
AsyncRequestFactory with their sync counterparts (issue 13's targets).

Usage: python client.py [--middleware none|common|project] [--rounds N]
                        [--scale F] [--only NAME] [--strict]

Runs in one process, with a minimal settings module and URLconf made here,
using only public APIs (the same script runs against any Django with
AsyncClient). Each comparison is measured in interleaved rounds; the verdict
is the median of the per-round ratios (each ratio pairs figures taken a few
milliseconds apart), the costs printed are the medians of the rounds.

1. Streaming 1,000 chunks of a sync generator view, read to the end:
   AsyncClient / Client.
2. AsyncRequestFactory().get() + calling a trivial sync view /
   RequestFactory().get() + the view, both in plain sync code.
3. GET of a trivial view: AsyncClient / the floor, the floor being Client().get
   inside one sync_to_async(thread_sensitive=True) hop from a running loop:
   the least an async client costs that runs sync views in the caller's thread,
   as a test's transaction needs. AsyncClient / Client is printed too.
4. POST of a 1 MiB body to a view that reads it: AsyncClient / Client.
5. 10,000 sequential AsyncClient requests, each in its own async_to_sync()
   call as a sync test would make them; the last 1,000 against the first
   1,000 detect state (e.g. context variables) accumulating in the caller,
   and no context variable may be left in the caller's context.

Async requests are awaited in one event loop started by async_to_sync(), as
an async test is run.

The POST figures depend on glibc's dynamic mmap threshold: the 1 MiB buffers
are sometimes page-faulted afresh on every request and sometimes reused,
which moves either client's cost by up to 2x between runs. Set
MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=268435456 in the
environment for steadier figures: the buffers are then reused, page faults no
longer dilute the copies of the body, and the POST ratio is higher.

Use --only (repeatable) to measure one comparison, e.g. --only post.
"""
import argparse
import gc
import statistics
import sys
import time

import django
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

MIDDLEWARE = {
    'none': [],
    'common': ['django.middleware.common.CommonMiddleware'],
    # startproject's MIDDLEWARE, with a session engine that needs no database.
    'project': [
        'django.middleware.security.SecurityMiddleware',
        'django.contrib.sessions.middleware.SessionMiddleware',
        'django.middleware.common.CommonMiddleware',
        'django.middleware.csrf.CsrfViewMiddleware',
        'django.contrib.auth.middleware.AuthenticationMiddleware',
        'django.contrib.messages.middleware.MessageMiddleware',
        'django.middleware.clickjacking.XFrameOptionsMiddleware',
    ],
}
CHUNKS = 1000
CHUNK = b'0123456789abcdef'


def trivial_view(request):
    return HttpResponse('Hello World!')


def upload_view(request):
    return HttpResponse(str(len(request.body)))


def stream_view(request):
    def chunks():
        for _ in range(CHUNKS):
            yield CHUNK
    return StreamingHttpResponse(chunks())


urlpatterns = [
    path('', trivial_view),
    path('upload/', upload_view),
    path('stream/', stream_view),
]


def setup(middleware):
    settings.configure(
        DEBUG=False,
        SECRET_KEY='bench',
        ALLOWED_HOSTS=['testserver'],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=MIDDLEWARE[middleware],
        INSTALLED_APPS=[
            'django.contrib.auth',
            'django.contrib.contenttypes',
            'django.contrib.sessions',
            'django.contrib.messages',
        ],
        SESSION_ENGINE='django.contrib.sessions.backends.signed_cookies',
        MESSAGE_STORAGE='django.contrib.messages.storage.cookie.CookieStorage',
        DATABASES={},
    )
    django.setup()


def time_sync(n, call):
    """Return the mean time of call(), in seconds."""
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n


def time_async(n, call):
    """Return the mean time of await call(), in seconds, in one event loop."""
    from asgiref.sync import async_to_sync

    async def run():
        start = time.perf_counter()
        for _ in range(n):
            await call()
        return (time.perf_counter() - start) / n
    gc.collect()
    return async_to_sync(run)()


def hopped(call):
    """Return a coroutine function making call() in one thread-sensitive hop."""
    from asgiref.sync import sync_to_async
    hop = sync_to_async(call, thread_sensitive=True)

    async def request():
        return await hop()
    return request


def measure(n, rounds, variants):
    """
    Measure the variants, (name, is_async, call), in interleaved rounds and
    return {name: [mean time per call of each round]}.
    """
    for name, is_async, call in variants:
        (time_async if is_async else time_sync)(max(n // 10, 3), call)
    times = {name: [] for name, is_async, call in variants}
    for _ in range(rounds):
        for name, is_async, call in variants:
            times[name].append((time_async if is_async else time_sync)(n, call))
    return times


def ratio(times, numerator, denominator):
    """The median of the per-round ratios."""
    return statistics.median(a / b for a, b in zip(times[numerator], times[denominator]))


def report(title, times):
    print(title)
    for name, values in times.items():
        print('  %-44s %9.1f us  (min %.1f, max %.1f)' % (
            name, statistics.median(values) * 1e6, min(values) * 1e6, max(values) * 1e6,
        ))


def check(response, content=None):
    assert response.status_code == 200, response.status_code
    if content is not None:
        assert response.content == content, response.content[:100]


def read_sync(response):
    return b''.join(response.streaming_content)


async def read_async(response):
    content = response.streaming_content
    if hasattr(content, '__aiter__'):
        return b''.join([chunk async for chunk in content])
    return b''.join(content)


def streaming(n, rounds):
    from django.test import AsyncClient, Client
    client, async_client = Client(), AsyncClient()
    expected = CHUNK * CHUNKS

    def sync_stream():
        response = client.get('/stream/')
        assert response.status_code == 200 and read_sync(response) == expected

    async def async_stream():
        response = await async_client.get('/stream/')
        assert response.status_code == 200 and await read_async(response) == expected

    times = measure(n, rounds, [
        ('Client', False, sync_stream),
        ('AsyncClient', True, async_stream),
    ])
    report('Streaming %d chunks of a sync generator, read to the end' % CHUNKS, times)
    return ratio(times, 'AsyncClient', 'Client')


def request_factory(n, rounds):
    from django.test import AsyncRequestFactory, RequestFactory

    def sync_factory():
        check(trivial_view(RequestFactory().get('/')))

    def async_factory():
        check(trivial_view(AsyncRequestFactory().get('/')))

    times = measure(n, rounds, [
        ('RequestFactory().get() + view', False, sync_factory),
        ('AsyncRequestFactory().get() + view', False, async_factory),
    ])
    report('Request factory + a trivial sync view, in sync code', times)
    return ratio(times, 'AsyncRequestFactory().get() + view', 'RequestFactory().get() + view')


def client_pair(n, rounds, title, sync_request, async_request):
    """Compare Client, Client in one sync_to_async hop, and AsyncClient."""
    from django.test import AsyncClient, Client
    client, async_client = Client(), AsyncClient()

    def sync_call():
        check(sync_request(client))

    async def async_call():
        check(await async_request(async_client))

    times = measure(n, rounds, [
        ('Client', False, sync_call),
        ('AsyncClient', True, async_call),
        ('Client in one sync_to_async hop (the floor)', True, hopped(sync_call)),
    ])
    report(title, times)
    return times


def sequential(total, window):
    """
    Time `total` requests, each through its own async_to_sync() call, and
    return the time of the last `window` requests / the first `window`, and
    the number of context variables they added to the caller's context.
    """
    import contextvars
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient
    client = AsyncClient()

    async def request():
        return await client.get('/')
    get = async_to_sync(request)
    get()
    context_size = len(contextvars.copy_context())
    times = []
    deadline = None
    for i in range(total):
        start = time.perf_counter()
        response = get()
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
        if i + 1 == window:
            # Stop a run that slows down quadratically once it's clearly missed.
            deadline = time.perf_counter() + max(60, 20 * sum(times)) * total / window / 10
        elif deadline is not None and i + 1 >= 2 * window and time.perf_counter() > deadline:
            print('stopped after %d requests: over its time budget' % (i + 1))
            total = i + 1
            break
    first, last = sum(times[:window]), sum(times[-window:])
    context_after = len(contextvars.copy_context())
    print('%d sequential async_to_sync() requests: first %d %.3f s, last %d %.3f s; '
          'context variables in the caller: %d before, %d after' % (
              total, window, first, window, last, context_size, context_after))
    return last / first, context_after - context_size


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--middleware', choices=sorted(MIDDLEWARE), default='none',
                        help="the issue's targets are measured without middleware (default)")
    parser.add_argument('--rounds', type=int, default=40)
    parser.add_argument('--scale', type=float, default=1.0, help='multiply the requests per round by this')
    parser.add_argument('--sequential', type=int, default=10000)
    parser.add_argument('--only', action='append', choices=['streaming', 'factory', 'get', 'post', 'sequential'],
                        help='measure only this (repeatable)')
    parser.add_argument('--strict', action='store_true', help='exit with status 1 if a target is missed')
    args = parser.parse_args()
    setup(args.middleware)
    import asgiref
    print('Python %s, Django %s (%s), asgiref %s, middleware: %s' % (
        sys.version.split()[0], django.get_version(), django.__path__[0], asgiref.__version__, args.middleware,
    ))

    def n(count):
        return max(int(count * args.scale), 3)

    rounds = args.rounds
    only = set(args.only or ['streaming', 'factory', 'get', 'post', 'sequential'])
    floor = 'Client in one sync_to_async hop (the floor)'
    results, information = [], []
    if 'streaming' in only:
        stream_ratio = streaming(n(5), rounds)
        results.append(('streaming %d chunks, AsyncClient / Client' % CHUNKS, stream_ratio, 1.5))
    if 'factory' in only:
        factory_ratio = request_factory(n(200), rounds)
        results.append(('AsyncRequestFactory + view / RequestFactory + view', factory_ratio, 1.2))
    if 'get' in only:
        get_times = client_pair(
            n(40), rounds, 'GET of a trivial view',
            lambda client: client.get('/'),
            lambda client: client.get('/'),
        )
        results.append(('GET, AsyncClient / the one-hop floor', ratio(get_times, 'AsyncClient', floor), 1.1))
        information.append(('GET, AsyncClient / Client', ratio(get_times, 'AsyncClient', 'Client')))
        information.append(('GET, the floor / Client', ratio(get_times, floor, 'Client')))
    if 'post' in only:
        body = b'x' * 2 ** 20
        post_times = client_pair(
            n(8), rounds, 'POST of a 1 MiB body',
            lambda client: client.post('/upload/', body, content_type='application/octet-stream'),
            lambda client: client.post('/upload/', body, content_type='application/octet-stream'),
        )
        results.append(('1 MiB POST, AsyncClient / Client', ratio(post_times, 'AsyncClient', 'Client'), 1.5))
        information.append(('1 MiB POST, AsyncClient / the floor', ratio(post_times, 'AsyncClient', floor)))
    if 'sequential' in only and args.sequential >= 2:
        window = min(1000, args.sequential // 2)
        growth, added = sequential(args.sequential, window)
        results.append(('%d sequential requests, last / first %d' % (args.sequential, window), growth, 1.1))
        # Not a ratio: the context variables they left in the caller's context.
        results.append(('%d sequential requests, context variables added' % args.sequential, added, 0))

    print('Targets (median of the per-round ratios, %d rounds):' % rounds)
    missed = False
    for name, value, limit in results:
        held = value <= limit
        missed = missed or not held
        if isinstance(value, int):
            print('  %-52s %6d   <= %d      %s' % (name, value, limit, 'PASS' if held else 'FAIL'))
        else:
            print('  %-52s %6.2fx  <= %.2fx  %s' % (name, value, limit, 'PASS' if held else 'FAIL'))
    for name, value in information:
        print('  %-52s %6.2fx  (for information)' % (name, value))
    return 1 if missed and args.strict else 0


if __name__ == '__main__':
    sys.exit(main())
