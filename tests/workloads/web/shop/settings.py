SECRET_KEY = "pybpf-test"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "shop.urls"
INSTALLED_APPS = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
import os

# test_requests: a PostgreSQL cluster of its own (psycopg2), one connection
# kept; the other tests use no database
DATABASES = {}
if os.environ.get("PYBPF_PG_PORT"):
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1", "PORT": os.environ["PYBPF_PG_PORT"],
        "NAME": "postgres", "USER": "postgres", "CONN_MAX_AGE": 600,
    }
USE_TZ = True
