"""
Asynchronous tests in a SimpleTestCase: no database access, so only views
that don't query the database.
"""
import asyncio
import unittest

from django.test import SimpleTestCase


class NoDatabaseTests(SimpleTestCase):
    async_timeout = 5

    async def test_redirect(self):
        response = await self.async_client.get('/old-items/')
        self.assertRedirects(response, '/', status_code=301, fetch_redirect_response=False)

    async def test_empty_form(self):
        response = await self.async_client.get('/items/new/')
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, 'shop/item_form.html')
        self.assertFalse(response.context['form'].is_bound)

    async def test_concurrent_requests(self):
        # Requests awaited together each get their own response, templates
        # and context.
        form, redirect, missing = await asyncio.gather(
            self.async_client.get('/items/new/'),
            self.async_client.get('/old-items/'),
            self.async_client.get('/no-such-page/'),
        )
        self.assertEqual(
            (form.status_code, redirect.status_code, missing.status_code),
            (200, 301, 404),
        )
        self.assertTemplateUsed(form, 'shop/item_form.html')
        self.assertTemplateNotUsed(redirect, 'shop/item_form.html')

    def test_hung_test_fails_after_async_timeout(self):
        """
        What async_timeout does: a test awaiting something that never happens
        fails after the time limit instead of hanging the test run. (A
        synchronous test that runs such a test case and checks its result.)
        """
        class HungTests(SimpleTestCase):
            async_timeout = 0.2

            async def test_waits_forever(self):
                await asyncio.Event().wait()

        result = unittest.TestResult()
        unittest.TestSuite([HungTests('test_waits_forever')]).run(result)
        self.assertEqual(result.testsRun, 1)
        self.assertEqual(len(result.failures), 1)
        self.assertIn('exceeded its async_timeout of 0.2 seconds', result.failures[0][1])
