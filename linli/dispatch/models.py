from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DispatchPolicy(models.Model):
    """How a community dispatches: by hand, with suggestions, or automatically."""

    class Mode(models.TextChoices):
        MANUAL = "manual", _("人工派单")
        SUGGEST = "suggest", _("推荐派单")
        AUTOMATIC = "automatic", _("自动派单")

    community = models.OneToOneField(
        "network.Center",
        verbose_name=_("社区"),
        on_delete=models.CASCADE,
        related_name="dispatch_policy",
        limit_choices_to={"kind": "community"},
    )
    mode = models.CharField(
        _("派单方式"), max_length=16, choices=Mode.choices, default=Mode.SUGGEST
    )

    class Meta:
        verbose_name = _("派单方式")
        verbose_name_plural = _("派单方式")

    def __str__(self) -> str:
        return f"{self.community}: {self.get_mode_display()}"
