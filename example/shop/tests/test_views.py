"""
Asynchronous tests of the shop's (synchronous) views in a TestCase.

Each "async def" test runs in an event loop of its own. self.async_client
takes each request through Django's ASGI request handling; the views run in
the thread that runs the tests, inside the test's transaction, so they see
the rows the test created and their writes are rolled back after it.
The ORM is used from the tests through sync_to_async().
"""
import tempfile

from asgiref.sync import sync_to_async

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from shop.models import Item


class ItemViewTests(TestCase):
    # A test that hangs (e.g. awaits something that never happens) fails
    # after 5 seconds instead of hanging the test run.
    async_timeout = 5

    @classmethod
    def setUpTestData(cls):
        # setUpTestData() is synchronous, as setUpClass() is.
        cls.apple = Item.objects.create(name='Apple', price='0.50')
        cls.pear = Item.objects.create(name='Pear', price='0.75')

    async def test_list_json(self):
        response = await self.async_client.get('/items/')
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response['Content-Type'], 'application/json')
        names = [item['name'] for item in response.json()['items']]
        self.assertEqual(names, ['Apple', 'Pear'])

    async def test_list_query_data(self):
        response = await self.async_client.get('/items/', {'q': 'pe'})
        self.assertEqual(response.json()['items'], [self.pear.as_dict()])

    async def test_list_headers(self):
        response = await self.async_client.get(
            '/items/', headers={'X-Api-Version': '2'},
        )
        self.assertEqual(response.json()['api_version'], '2')

    async def test_orm_through_sync_to_async(self):
        # The ORM can't be called from the event loop: wrap it.
        await sync_to_async(Item.objects.create)(name='Cherry', price='3.00')
        response = await self.async_client.get(reverse('shop:item_list'))
        names = [item['name'] for item in response.json()['items']]
        self.assertEqual(names, ['Apple', 'Cherry', 'Pear'])

    async def test_create_with_file_upload(self):
        upload = SimpleUploadedFile('spec.txt', b'Crunchy.', content_type='text/plain')
        with tempfile.TemporaryDirectory() as media_root, self.settings(MEDIA_ROOT=media_root):
            response = await self.async_client.post(
                '/items/new/',
                {'name': 'Quince', 'price': '2.10', 'attachment': upload},
                headers={'Accept': 'application/json'},
            )
            self.assertEqual(response.status_code, 201)
            data = response.json()
            self.assertEqual(data['name'], 'Quince')
            self.assertEqual(data['attachment'], 'items/spec.txt')
            item = await sync_to_async(Item.objects.get)(pk=data['id'])
            with item.attachment.open('rb') as attachment:
                self.assertEqual(attachment.read(), b'Crunchy.')

    async def test_create_follow_redirect(self):
        response = await self.async_client.post(
            '/items/new/', {'name': 'Plum', 'price': '1.20'}, follow=True,
        )
        item = await sync_to_async(Item.objects.get)(name='Plum')
        self.assertEqual(response.redirect_chain, [('/items/%d/' % item.pk, 302)])
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, 'shop/item_detail.html')
        self.assertEqual(response.context['item'], item)
        self.assertContains(response, '<h1>Plum</h1>', html=True)

    async def test_create_invalid(self):
        response = await self.async_client.post('/items/new/', {'name': 'Priceless'})
        self.assertEqual(response.status_code, 400)
        self.assertTemplateUsed(response, 'shop/item_form.html')
        self.assertFormError(response, 'form', 'price', 'This field is required.')
        self.assertEqual(await sync_to_async(Item.objects.count)(), 2)

    async def test_index_templates_and_context(self):
        response = await self.async_client.get('/')
        self.assertEqual(
            [template.name for template in response.templates],
            ['shop/index.html', 'shop/base.html'],
        )
        # The template evaluated the queryset: reading it needs no query.
        self.assertEqual(list(response.context['items']), [self.apple, self.pear])
        self.assertContains(response, 'Apple')

    async def test_old_address_redirects(self):
        response = await self.async_client.get('/old-items/')
        # In an async test, assertRedirects() can't fetch the target itself.
        self.assertRedirects(response, '/', status_code=301, fetch_redirect_response=False)
        response = await self.async_client.get('/old-items/', follow=True)
        self.assertEqual(response.redirect_chain, [('/', 301)])
        self.assertTemplateUsed(response, 'shop/index.html')

    async def test_export_streams_csv(self):
        response = await self.async_client.get('/items/export.csv')
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.streaming)
        self.assertEqual(response['Content-Type'], 'text/csv')
        content = b''.join(response.streaming_content)
        self.assertEqual(
            content.decode().splitlines(),
            ['name,price', 'Apple,0.50', 'Pear,0.75'],
        )


class AccountTests(TestCase):
    async_timeout = 5

    @classmethod
    def setUpTestData(cls):
        cls.user = User.objects.create_user('alice', password='wonderland')

    async def test_anonymous_is_sent_to_login(self):
        response = await self.async_client.get('/account/', follow=True)
        self.assertEqual(
            response.redirect_chain, [('/accounts/login/?next=/account/', 302)],
        )
        self.assertTemplateUsed(response, 'registration/login.html')

    async def test_alogin_and_alogout(self):
        logged_in = await self.async_client.alogin(username='alice', password='wonderland')
        self.assertIs(logged_in, True)
        response = await self.async_client.get('/account/')
        self.assertEqual(response.json(), {'username': 'alice'})
        await self.async_client.alogout()
        response = await self.async_client.get('/account/')
        self.assertRedirects(
            response, '/accounts/login/?next=/account/', fetch_redirect_response=False,
        )

    async def test_alogin_wrong_password(self):
        logged_in = await self.async_client.alogin(username='alice', password='rabbit')
        self.assertIs(logged_in, False)

    async def test_aforce_login(self):
        await self.async_client.aforce_login(self.user)
        response = await self.async_client.get('/account/')
        self.assertEqual(response.json(), {'username': 'alice'})


class RollbackTests(TestCase):
    """
    Each test creates a row and expects to see only it: whichever runs second
    would see two if TestCase didn't roll back the first one's writes.
    """
    async def assert_only_row(self, name):
        await sync_to_async(Item.objects.create)(name=name, price='1.00')
        names = await sync_to_async(list)(Item.objects.values_list('name', flat=True))
        self.assertEqual(names, [name])

    async def test_first(self):
        await self.assert_only_row('First')

    async def test_second(self):
        await self.assert_only_row('Second')
