"""The WSGI application gunicorn serves (`headway serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "headway.settings")
application = get_wsgi_application()

from headway.serving import settle_heap  # noqa: E402  (needs the settings above)

settle_heap()
