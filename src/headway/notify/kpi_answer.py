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
from django.utils.translation import gettext
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
from headway.speech import spoken
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
        return gettext("Name a KPI: `/headway kpi NAME`."), []
    kpi = find(name)
    if kpi is None:
        return gettext("No KPI is called “%(name)s” (or several are): try its key.") % {
            "name": name
        }, []
    # In the language active for the asker (the Slack view sets theirs).
    health = spoken(text.said(text.HEALTH_SAID, kpi.health))
    trend = spoken(text.said(text.TREND_SAID, kpi.trend))
    latest = spoken(text.said_number(kpi.latest_value, kpi.unit))
    target = spoken(text.said_number(kpi.target_now, kpi.unit))
    summary = gettext("%(kpi)s: %(health)s, trend %(trend)s, latest %(latest)s") % {
        "kpi": kpi.name,
        "health": health,
        "trend": trend,
        "latest": latest,
    }
    url = text.absolute(reverse("kpi", args=[kpi.key]))
    fields = (
        (gettext("Health"), f"{HEALTH_EMOJI.get(kpi.health, '')} {health}"),
        (gettext("Trend"), trend),
        (gettext("Latest value"), latest),
        (gettext("Target"), target),
    )
    blocks = [
        HeaderBlock(text=kpi.name[:150]),
        SectionBlock(
            fields=[MarkdownTextObject(text=f"*{label}*\n{value}") for label, value in fields]
        ),
        ImageBlock(
            image_url=text.absolute(sparkline_path(kpi)),
            alt_text=gettext("%(kpi)s: the last review periods") % {"kpi": kpi.name},
        ),
        ContextBlock(elements=[MarkdownTextObject(text=f"<{url}|{gettext('Open in Headway')}>")]),
    ]
    return summary, [block.to_dict() for block in blocks]
