"""Check-ins submitted from Slack's modal, recorded through the web's own action.

Apart from `notify.slack` (the app's client and messages), which the channels import to
send reminders: recording imports the OKR actions, and those announce through the channels.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from headway.okrs.actions import record_checkin
from headway.okrs.models import KeyResult, KeyResultKind
from headway.teams.models import Person


def _state_value(values: dict[str, Any], block_id: str, action_id: str) -> str:
    element = (values.get(block_id) or {}).get(action_id) or {}
    if element.get("type") == "static_select":
        selected = element.get("selected_option") or {}
        return str(selected.get("value") or "")
    return str(element.get("value") or "").strip()


def _number(raw: str) -> float:
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        raise ValidationError({"value": "Enter a number."}) from None


def submit_checkins(person: Person, view: dict[str, Any]) -> dict[str, str]:
    """Record the modal's check-ins, all or nothing; the errors by block id (empty: saved).

    Values are parsed here (text from Slack); validation and rights are the action's, so
    the messages are the web's.
    """
    metadata = json.loads(view.get("private_metadata") or "{}")
    ids = [int(pk) for pk in metadata.get("key_results", [])]
    values = (view.get("state") or {}).get("values") or {}
    key_results = {kr.pk: kr for kr in KeyResult.objects.filter(pk__in=ids)}
    errors: dict[str, str] = {}
    filled = 0
    now = timezone.now()
    with transaction.atomic():
        for pk in ids:
            kr = key_results.get(pk)
            if kr is None:
                continue
            raw_value = _state_value(values, f"kr-{pk}-value", "value")
            raw_done = _state_value(values, f"kr-{pk}-done", "done")
            raw_confidence = _state_value(values, f"kr-{pk}-confidence", "confidence")
            comment = _state_value(values, f"kr-{pk}-comment", "comment")
            if not (raw_value or raw_done or raw_confidence or comment):
                continue
            filled += 1
            field_block = (
                f"kr-{pk}-done" if kr.kind == KeyResultKind.MILESTONE else f"kr-{pk}-value"
            )
            try:
                value = _number(raw_value) if raw_value else None
                confidence: int | None = None
                if raw_confidence:
                    try:
                        confidence = int(raw_confidence)
                    except ValueError:
                        raise ValidationError(
                            {"confidence": "Confidence is a whole number from 0 to 10."}
                        ) from None
                record_checkin(
                    key_result=kr,
                    by=person,
                    value=value,
                    done={"yes": True, "no": False}.get(raw_done),
                    confidence=confidence,
                    comment=comment,
                    at=now,
                )
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    block = {
                        "confidence": f"kr-{pk}-confidence",
                        "comment": f"kr-{pk}-comment",
                    }.get(name, field_block)
                    errors.setdefault(block, " ".join(messages))
            except PermissionDenied as exc:
                errors.setdefault(field_block, str(exc))
        if not filled and ids:
            errors[_first_input(ids, key_results)] = (
                "Nothing to check in: fill in at least one key result."
            )
        if errors:
            # All or nothing, as on the web: the rows that went through are undone too.
            transaction.set_rollback(True)
    return errors


def _first_input(ids: list[int], key_results: dict[int, KeyResult]) -> str:
    pk = ids[0]
    kr = key_results.get(pk)
    if kr is not None and kr.kind == KeyResultKind.MILESTONE:
        return f"kr-{pk}-done"
    return f"kr-{pk}-value"
