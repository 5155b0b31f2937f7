"""
Asynchronous tests in a TransactionTestCase: the test's writes are really
committed (views and transaction.atomic() behave as in production), and the
database is emptied after each test.
"""
from asgiref.sync import sync_to_async

from django.db import transaction
from django.test import TransactionTestCase

from shop.models import Item


class ItemTransactionTests(TransactionTestCase):
    async_timeout = 5

    async def test_created_item_is_shown(self):
        item = await sync_to_async(Item.objects.create)(name='Fig', price='1.10')
        response = await self.async_client.get('/items/%d/' % item.pk)
        self.assertContains(response, 'Fig')
        self.assertEqual(response.context['item'], item)
        # Only this test's row: the previous test's were flushed.
        self.assertEqual(await sync_to_async(Item.objects.count)(), 1)

    async def test_atomic_block_rolls_back(self):
        def create_then_fail():
            with transaction.atomic():
                Item.objects.create(name='Ghost', price='0.00')
                raise ValueError('abandoned')

        with self.assertRaisesMessage(ValueError, 'abandoned'):
            await sync_to_async(create_then_fail)()
        response = await self.async_client.get('/items/')
        self.assertEqual(response.json()['items'], [])
