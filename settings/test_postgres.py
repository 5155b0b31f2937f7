# Settings for Django's runtests.py against the throwaway PostgreSQL server
# that `./series test` starts; SERIES_PG_PORT names its port.
import os

_port = os.environ['SERIES_PG_PORT']

DATABASES = {
    'default': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': 'django',
        'USER': 'postgres',
        'HOST': '127.0.0.1',
        'PORT': _port,
    },
    'other': {
        'ENGINE': 'django.db.backends.postgresql',
        'NAME': 'django_other',
        'USER': 'postgres',
        'HOST': '127.0.0.1',
        'PORT': _port,
    },
}

SECRET_KEY = 'django_tests_secret_key'

# Use a fast hasher to speed up tests.
PASSWORD_HASHERS = [
    'django.contrib.auth.hashers.MD5PasswordHasher',
]
