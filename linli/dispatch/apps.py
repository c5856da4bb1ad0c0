from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "linli.dispatch"
    label = "dispatch"
    verbose_name = _("派单引擎")
