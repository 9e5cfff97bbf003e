"""What a comment is about, addressed by a path: `objectives/<key>`,
`objectives/<key>/key_results/<kr>`, `kpis/<key>` or `checkins/<id>` (the coach's paths,
and check-ins by id since they have no key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from django.utils.translation import gettext, gettext_noop

if TYPE_CHECKING:
    from headway.kpis.models import Kpi
    from headway.okrs.models import CheckIn, KeyResult, Objective
    from headway.teams.access import Access

#: What a comment is on, as sentences name it (message ids: said in the reader's language).
KIND_LABELS = {
    "objective": gettext_noop("objective"),
    "key_result": gettext_noop("key result"),
    "kpi": gettext_noop("KPI"),
    "checkin": gettext_noop("check-in"),
}


@dataclass(frozen=True)
class Target:
    kind: str
    objective: Objective | None = None
    key_result: KeyResult | None = None
    kpi: Kpi | None = None
    checkin: CheckIn | None = None

    @property
    def path(self) -> str:
        if self.kind == "kpi":
            assert self.kpi is not None
            return f"kpis/{self.kpi.key}"
        if self.kind == "checkin":
            assert self.checkin is not None
            return f"checkins/{self.checkin.pk}"
        objective = self.governing_objective
        assert objective is not None
        if self.kind == "key_result":
            assert self.key_result is not None
            return f"objectives/{objective.key}/key_results/{self.key_result.key}"
        return f"objectives/{objective.key}"

    @property
    def governing_objective(self) -> Objective | None:
        """The objective whose visibility decides who may see and discuss the target."""
        if self.objective is not None:
            return self.objective
        if self.key_result is not None:
            return self.key_result.objective
        if self.checkin is not None:
            return self.checkin.key_result.objective
        return None

    @property
    def team_id(self) -> int:
        objective = self.governing_objective
        if objective is not None:
            return objective.team_id
        assert self.kpi is not None
        return self.kpi.team_id

    @property
    def label(self) -> str:
        """What it is, in English: a message id (the notifications say it per reader)."""
        return KIND_LABELS[self.kind]

    @property
    def shown_label(self) -> str:
        """What it is, in the active language (the discussion page)."""
        return gettext(KIND_LABELS[self.kind])

    @property
    def title(self) -> str:
        if self.kind == "kpi":
            assert self.kpi is not None
            return self.kpi.name
        if self.kind == "checkin":
            assert self.checkin is not None
            kr = self.checkin.key_result
            return f"{kr.title} ({self.checkin.at:%d %b %Y})"
        if self.kind == "key_result":
            assert self.key_result is not None
            return self.key_result.title
        assert self.objective is not None
        return self.objective.title

    @property
    def page_url(self) -> str:
        """The page where the target itself is shown."""
        if self.kind == "kpi":
            assert self.kpi is not None
            return reverse("kpi", args=[self.kpi.key])
        objective = self.governing_objective
        assert objective is not None
        url = reverse("objective", args=[objective.key])
        if self.kind == "key_result":
            assert self.key_result is not None
            url += f"#kr-{self.key_result.key}"
        elif self.kind == "checkin":
            assert self.checkin is not None
            url += f"#kr-{self.checkin.key_result.key}"
        return url

    @property
    def thread_url(self) -> str:
        return reverse("discussion", args=[self.path])

    def filter(self) -> dict[str, Any]:
        """The Comment filter of the target's thread."""
        return {self.kind: getattr(self, self.kind)}

    def visible_to(self, access: Access) -> bool:
        objective = self.governing_objective
        return objective is None or access.can_see_objective(objective)


def resolve(path: str) -> Target:
    """The target a path names; LookupError when there is none."""
    from headway.kpis.models import Kpi
    from headway.okrs.models import CheckIn, KeyResult, Objective

    parts = path.strip("/").split("/")
    try:
        if len(parts) == 2 and parts[0] == "objectives":
            return Target(
                "objective",
                objective=Objective.objects.select_related("cycle", "team").get(key=parts[1]),
            )
        if len(parts) == 4 and parts[0] == "objectives" and parts[2] == "key_results":
            kr = KeyResult.objects.select_related("objective__cycle", "objective__team").get(
                objective__key=parts[1], key=parts[3]
            )
            return Target("key_result", key_result=kr)
        if len(parts) == 2 and parts[0] == "kpis":
            return Target("kpi", kpi=Kpi.objects.select_related("team").get(key=parts[1]))
        if len(parts) == 2 and parts[0] == "checkins" and parts[1].isdigit():
            checkin = CheckIn.objects.select_related(
                "key_result__objective__cycle", "key_result__objective__team"
            ).get(pk=int(parts[1]))
            return Target("checkin", checkin=checkin)
    except (Objective.DoesNotExist, KeyResult.DoesNotExist, Kpi.DoesNotExist,
            CheckIn.DoesNotExist):  # fmt: skip
        pass
    raise LookupError(f"Nothing to discuss at {path!r}.")


def of_comment(comment: Any) -> Target:
    """The target of a comment loaded with its target's relations."""
    for kind in ("objective", "key_result", "kpi", "checkin"):
        if getattr(comment, f"{kind}_id") is not None:
            return Target(kind, **{kind: getattr(comment, kind)})
    raise LookupError("A comment without a target.")
