"""
Compare the per-request cost of django.test.AsyncClient with Client.

Usage: python client.py [--middleware none|common|project] [--rounds N]

Runs in one process, with a minimal settings module and URLconf made here:

1. GET of a trivial view: N requests through Client, and N requests awaited
   in one event loop (started by async_to_sync, as an async test is run)
   through AsyncClient.
2. POST of a 1 MiB body to a view that reads it, the same way.
3. 10,000 sequential AsyncClient requests, each in its own async_to_sync()
   call as a sync test would make them; the time of the last 1,000 is
   compared with the first 1,000 to detect state (e.g. context variables)
   accumulating in the caller.

Each of 1. and 2. is measured in several interleaved rounds and the fastest
round is kept, which reduces the noise of a shared machine. Ratios are
AsyncClient cost / Client cost. Each also measures the sync Client wrapped in
one thread-sensitive sync_to_async() call: the least an async client costs
that runs sync views in the caller's thread, as a test's transaction needs.

The POST figures depend on glibc's dynamic mmap threshold: the 1 MiB buffers
are sometimes page-faulted afresh on every request and sometimes reused,
which moves either client's cost by up to 2x between runs. Set
MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=268435456 in the
environment for steadier figures.
"""
import argparse
import gc
import sys
import time

import django
from django.conf import settings
from django.http import HttpResponse
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


def trivial_view(request):
    return HttpResponse('Hello World!')


def upload_view(request):
    return HttpResponse(str(len(request.body)))


urlpatterns = [
    path('', trivial_view),
    path('upload/', upload_view),
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


def time_sync(client, n, request):
    start = time.perf_counter()
    for _ in range(n):
        request(client)
    return (time.perf_counter() - start) / n


def time_async(client, n, request):
    from asgiref.sync import async_to_sync

    async def run():
        start = time.perf_counter()
        for _ in range(n):
            await request(client)
        return (time.perf_counter() - start) / n
    return async_to_sync(run)()


def hop(request):
    """
    Make a request with Client inside one sync_to_async() call: the least an
    async client that runs synchronous views in the caller's thread costs.
    """
    from asgiref.sync import sync_to_async

    async def hopped(client):
        return await sync_to_async(request, thread_sensitive=True)(client)
    return hopped


def compare(name, n, rounds, sync_request, async_request):
    from django.test import AsyncClient, Client
    sync_client, async_client = Client(), AsyncClient()
    hop_request = hop(sync_request)
    # Warm up (middleware loading, imports, caches).
    time_sync(sync_client, 50, sync_request)
    time_async(async_client, 50, async_request)
    time_async(sync_client, 50, hop_request)
    sync_times, async_times, hop_times = [], [], []
    for _ in range(rounds):
        gc.collect()
        sync_times.append(time_sync(sync_client, n, sync_request))
        gc.collect()
        async_times.append(time_async(async_client, n, async_request))
        gc.collect()
        hop_times.append(time_async(sync_client, n, hop_request))
    sync_cost, async_cost, hop_cost = min(sync_times), min(async_times), min(hop_times)
    print('%-24s Client %8.1f us  AsyncClient %8.1f us  ratio %.2f' % (
        name, sync_cost * 1e6, async_cost * 1e6, async_cost / sync_cost,
    ))
    print('%-24s (Client in one sync_to_async hop %8.1f us, ratio %.2f)' % (
        '', hop_cost * 1e6, hop_cost / sync_cost,
    ))
    return async_cost / sync_cost


def sequential(total, window):
    """
    Time `total` requests, each through its own async_to_sync() call, and
    return the time of the first and last `window` requests.
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
    for _ in range(total):
        start = time.perf_counter()
        response = get()
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    first, last = sum(times[:window]), sum(times[-window:])
    print('context variables in the caller: %d before, %d after' % (
        context_size, len(contextvars.copy_context()),
    ))
    print('%d sequential async_to_sync requests: first %d %.3f s, last %d %.3f s, '
          'last/first %.2f' % (total, window, first, window, last, last / first))
    return last / first


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('--middleware', choices=sorted(MIDDLEWARE), default='project')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--requests', type=int, default=2000, help='requests per round for the GET')
    parser.add_argument('--sequential', type=int, default=10000)
    args = parser.parse_args()
    setup(args.middleware)
    import asgiref
    print('Python %s, Django %s, asgiref %s, middleware: %s' % (
        sys.version.split()[0], django.get_version(), asgiref.__version__, args.middleware,
    ))
    body = b'x' * 2 ** 20
    get_ratio = compare(
        'GET trivial view', args.requests, args.rounds,
        lambda client: client.get('/'),
        lambda client: client.get('/'),
    )
    post_ratio = compare(
        'POST 1 MiB body', max(args.requests // 20, 10), args.rounds,
        lambda client: client.post('/upload/', body, content_type='application/octet-stream'),
        lambda client: client.post('/upload/', body, content_type='application/octet-stream'),
    )
    growth = sequential(args.sequential, 1000)
    print('targets: GET ratio <= 2 (%s), POST ratio <= 1.5 (%s), last/first <= 1.1 (%s)' % (
        'ok' if get_ratio <= 2 else 'MISSED',
        'ok' if post_ratio <= 1.5 else 'MISSED',
        'ok' if growth <= 1.1 else 'MISSED',
    ))


if __name__ == '__main__':
    main()
