# The async tests of this package need the patched Django. With a stock
# Django 3.0, an "async def" test method is called without being awaited:
# its body never runs and the test passes, with only a "never awaited"
# RuntimeWarning. Refuse to run the tests at all instead.
try:
    from django.test import AsyncClient  # noqa: F401
except ImportError:
    import django

    raise ImportError(
        "Django %s (%s) can't run these async tests: install the patched "
        "Django (see example/README.md)." % (django.get_version(), django.__file__)
    ) from None
