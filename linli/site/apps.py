from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SiteConfig(AppConfig):
    """The top layer: the pages and commands that bring every capability together
    (the home page, ``me``, the worker, accounts, the test cast)."""

    name = "linli.site"
    label = "site"
    verbose_name = _("站点")
