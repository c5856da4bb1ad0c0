from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """The outbox and the inbox: every notification, whatever else delivers it.

    ``message`` is the Chinese source text (a msgid) and ``params`` what goes
    into it; both are rendered in the reader's language when shown or sent
    (``linli.notify.services.render``), never when written.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("类型"), max_length=32)
    message = models.CharField(_("内容"), max_length=500)
    # None: ``message`` is plain text (not a msgid to translate and format).
    params = models.JSONField(_("参数"), null=True, blank=True)
    link = models.CharField(_("链接"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("已读"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.text[:40]}"

    def render(self, language: str) -> str:
        from linli.notify.services import render

        return render(self.message, self.params, language)

    @property
    def text(self) -> str:
        """The text in the recipient's language."""
        return self.render(self.recipient.language)


class Delivery(models.Model):
    """One notification on one channel that sends it out (console, webhook …).

    The inbox has no delivery row: the notification row is its delivery. A
    job claims a delivery with a conditional UPDATE (``attempts`` as it read
    it, and due); only the one UPDATE that touches the row sends it.
    ``next_attempt_at`` is the time of the next try while pending, and the
    end of the claim's lease while sending.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    notification = models.ForeignKey(
        Notification, verbose_name=_("通知"), on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("渠道"), max_length=32)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), default=timezone.now)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("投递")
        verbose_name_plural = _("投递")
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="one_delivery_per_channel"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.notification_id}/{self.channel}: {self.status}"


class PeriodicJob(models.Model):
    """A job that runs every ``every`` seconds, and the one run of it that is pending.

    django-tasks has no scheduler: each run enqueues the next one
    (``linli.notify.periodic``). This row, locked while it changes, is what
    keeps that to exactly one pending run however many workers start.
    """

    task_path = models.CharField(_("任务"), max_length=200, unique=True)
    every = models.FloatField(_("间隔（秒）"))
    pending_result_id = models.CharField(_("待运行"), max_length=64, blank=True)
    next_run_at = models.DateTimeField(_("下次运行"), null=True, blank=True)

    class Meta:
        verbose_name = _("定时任务")
        verbose_name_plural = _("定时任务")

    def __str__(self) -> str:
        return self.task_path
