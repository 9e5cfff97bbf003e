"""`/headway kpi NAME` in Slack: the KPI's health, trend and a sparkline image.

Slack shows an image block by fetching its URL itself, without Headway's session, so the
sparkline PNG is served at a URL signed with SECRET_KEY (django.core.signing): only a
URL Headway handed out opens, and it shows no more than the answer already did.
"""

from __future__ import annotations

import io
from typing import Any

from django.core import signing
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw
from slack_sdk.models.blocks import (
    ContextBlock,
    HeaderBlock,
    ImageBlock,
    MarkdownTextObject,
    SectionBlock,
)

from headway.kpis.models import Kpi
from headway.notify import text
from headway.teams.models import Person
from headway.web.charts import recent_periods, sparkline

_SALT = "headway.slack.sparkline"
HEALTH_EMOJI = {
    "healthy": ":large_green_circle:",
    "warning": ":large_orange_circle:",
    "critical": ":red_circle:",
    "stale": ":white_circle:",
    "no_data": ":white_circle:",
}


def find(name: str) -> Kpi | None:
    """The KPI by key or name (exact, else the only partial match)."""
    name = name.strip()
    if not name:
        return None
    exact = Kpi.objects.filter(Q(key__iexact=name) | Q(name__iexact=name)).first()
    if exact is not None:
        return exact
    partial = list(Kpi.objects.filter(name__icontains=name).order_by("name")[:2])
    return partial[0] if len(partial) == 1 else None


def sparkline_path(kpi: Kpi) -> str:
    token = signing.Signer(salt=_SALT).sign(kpi.key)
    return reverse("notify:slack_sparkline") + f"?k={token}"


def kpi_for_token(token: str) -> Kpi | None:
    try:
        key = signing.Signer(salt=_SALT).unsign(token)
    except signing.BadSignature:
        return None
    return Kpi.objects.filter(key=key).first()


def sparkline_png(kpi: Kpi, width: int = 360, height: int = 96) -> bytes:
    """The KPI's last review periods as a PNG line (the web's sparkline, scaled up)."""
    periods = recent_periods([kpi], timezone.now()).get(kpi.pk, ())
    spark = sparkline([p.value for p in periods], kpi.target_now, width=width, height=height)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    if spark is not None:
        if spark.target_y is not None:
            y = float(spark.target_y)
            draw.line([(0, y), (width, y)], fill=(160, 160, 160), width=1)
        points = [tuple(float(c) for c in p.split(",")) for p in spark.points.split()]
        draw.line(points, fill=(21, 101, 192), width=3)
        x, y = float(spark.last_x), float(spark.last_y)
        draw.ellipse([(x - 4, y - 4), (x + 4, y + 4)], fill=(21, 101, 192))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def answer(person: Person, name: str) -> tuple[str, list[dict[str, Any]]]:
    """The ephemeral answer: a text and Block Kit blocks (built with slack-sdk's models)."""
    if not name.strip():
        return "Name a KPI: `/headway kpi NAME`.", []
    kpi = find(name)
    if kpi is None:
        return f"No KPI is called “{name}” (or several are): try its key.", []
    health = kpi.health.replace("_", " ")
    latest = text.number(kpi.latest_value, kpi.unit) if kpi.latest_value is not None else "-"
    summary = f"{kpi.name}: {health}, trend {kpi.trend}, latest {latest}"
    url = text.absolute(reverse("kpi", args=[kpi.key]))
    blocks = [
        HeaderBlock(text=kpi.name[:150]),
        SectionBlock(
            fields=[
                MarkdownTextObject(text=f"*Health*\n{HEALTH_EMOJI.get(kpi.health, '')} {health}"),
                MarkdownTextObject(text=f"*Trend*\n{kpi.trend}"),
                MarkdownTextObject(text=f"*Latest value*\n{latest}"),
                MarkdownTextObject(
                    text=f"*Target*\n{text.number(kpi.target_now, kpi.unit)}"
                    if kpi.target_now is not None
                    else "*Target*\n-"
                ),
            ]
        ),
        ImageBlock(
            image_url=text.absolute(sparkline_path(kpi)),
            alt_text=f"{kpi.name}: the last review periods",
        ),
        ContextBlock(elements=[MarkdownTextObject(text=f"<{url}|Open in Headway>")]),
    ]
    return summary, [block.to_dict() for block in blocks]
