"""
asyncSetUp(), asyncTearDown() and addAsyncCleanup(), with the names and order
of unittest.IsolatedAsyncioTestCase: setUp(), asyncSetUp(), the test,
asyncTearDown(), tearDown(), then the cleanups, last registered first. The
asynchronous parts run in the test's event loop, so what asyncSetUp() makes
for that loop (a queue, a logged-in async client) can be used by the test.
"""
import asyncio

from asgiref.sync import sync_to_async

from django.contrib.auth.models import User
from django.test import SimpleTestCase, TestCase

from shop.models import Item


class HookOrderTests(SimpleTestCase):
    async_timeout = 5

    def setUp(self):
        self.events = ['setUp']
        # Registered first, so it runs last: it checks the whole order. A
        # failing cleanup is reported as an error of the test.
        self.addCleanup(self.check_order)

    async def asyncSetUp(self):
        self.events.append('asyncSetUp')
        self.queue = asyncio.Queue()
        self.addAsyncCleanup(self.record, 'cleanup from asyncSetUp')

    async def test_order(self):
        self.assertEqual(self.events, ['setUp', 'asyncSetUp'])
        self.events.append('test')
        # The queue made by asyncSetUp() works in the test's event loop.
        await self.queue.put('item')
        self.assertEqual(await self.queue.get(), 'item')
        self.addAsyncCleanup(self.record, 'cleanup from test')

    async def asyncTearDown(self):
        self.events.append('asyncTearDown')

    def tearDown(self):
        self.events.append('tearDown')

    async def record(self, event):
        await asyncio.sleep(0)
        self.events.append(event)

    def check_order(self):
        self.assertEqual(self.events, [
            'setUp', 'asyncSetUp', 'test', 'asyncTearDown', 'tearDown',
            'cleanup from test', 'cleanup from asyncSetUp',
        ])


class LoggedInTests(TestCase):
    async_timeout = 5

    @classmethod
    def setUpTestData(cls):
        cls.user = User.objects.create_user('bob', password='builder')

    async def asyncSetUp(self):
        await self.async_client.aforce_login(self.user)
        self.addAsyncCleanup(self.async_client.alogout)
        # Rolled back after each test, like the test's own writes.
        self.item = await sync_to_async(Item.objects.create)(name='Hammer', price='9.99')

    async def asyncTearDown(self):
        # Still logged in: the cleanup logging out runs after this.
        response = await self.async_client.get('/account/')
        self.assertEqual(response.status_code, 200)

    async def test_account(self):
        response = await self.async_client.get('/account/')
        self.assertEqual(response.json(), {'username': 'bob'})

    async def test_item_from_async_set_up(self):
        response = await self.async_client.get('/items/')
        # Only this test's Hammer: the other test's was rolled back.
        self.assertEqual(response.json()['items'], [self.item.as_dict()])
