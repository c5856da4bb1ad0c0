"""The WSGI application ``linli serve`` hands to gunicorn.

Importing it sets Django up and loads the URLconf (and with it every view and
the API), so that no request pays for the imports: gunicorn imports this once
in its master (``--preload``) and forks the workers from it ready to serve.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
application = get_wsgi_application()


def _warm() -> None:
    from django.db import connections
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 -- imports every view
    # The master must hold no connection its forked workers would share.
    connections.close_all()


_warm()
