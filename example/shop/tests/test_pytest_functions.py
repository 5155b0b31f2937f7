"""
Plain pytest test functions. pytest collects them (and the Django test
cases of the other modules); manage.py test ignores them.

A pytest function that tests async code using the database is written as a
*synchronous* test that requests the db fixture and runs the async part with
async_to_sync(): sync_to_async() then runs the ORM in the test's thread, in
the test's transaction, which is rolled back after the test.

Don't use "async def" test functions (pytest-asyncio) for that: their event
loop runs in the main thread, so sync_to_async() runs the ORM in another
thread, with another database connection, outside the test's transaction.
Their writes aren't rolled back and break later tests.
"""
from asgiref.sync import async_to_sync, sync_to_async

from shop.models import Item


def test_item_list(db, async_client):
    # async_client is pytest-django's fixture: an AsyncClient().
    async def scenario():
        await sync_to_async(Item.objects.create)(name='Kiwi', price='0.30')
        return await async_client.get('/items/', headers={'X-Api-Version': '2'})

    response = async_to_sync(scenario)()
    assert response.status_code == 200
    data = response.json()
    assert [item['name'] for item in data['items']] == ['Kiwi']
    assert data['api_version'] == '2'


def test_no_rows_left_behind(db):
    # The Kiwi of the test above was rolled back.
    assert Item.objects.count() == 0
