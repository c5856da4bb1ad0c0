from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TeamsConfig(AppConfig):
    name = "linli.teams"
    label = "teams"
    verbose_name = _("服务队")
