"""The sample's one table: short notes, written and read back through /notes."""

from __future__ import annotations

from django.db import models


class Note(models.Model):
    text = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
