"""Breach digests: a burst of SLA alerts for one team becomes one notice, not twenty.

The first alert for a team and level after a quiet spell goes out at once. Those that
follow within the tenant's `notifications.digest_window` are gathered and go out together
when the window ends; while they keep coming, each window sends one digest. A window with
nothing in it ends the spell. P1 alerts never wait for a digest (the case sends them itself).
"""

from datetime import timedelta

from pydantic import BaseModel, Field

from domain.durations import format_duration
from domain.effects import Notify
from domain.models import Level

# Alerts listed in one digest notice; a bigger window's alerts go as several notices.
DIGEST_MAX = 50
# Alerts a window holds (what a continue-as-new carries stays small); beyond it they are
# counted, and the digest says how many more there were.
PENDING_MAX = 200
# Alert keys remembered to drop a repeated signal (an activity retry); bounded.
SEEN_KEPT = 500


class DigestStart(BaseModel):
    tenant: str
    team: str
    level: Level
    window: timedelta
    pending: list[Notify] = Field(default_factory=list, description="carried to a new run")
    seen: list[str] = Field(default_factory=list, description="carried to a new run")
    sent: int = Field(default=0, description="notices sent by earlier runs of this spell")
    overflow: int = Field(default=0, description="alerts beyond PENDING_MAX this window")


def digest_id(notice: Notify) -> str:
    """One digest per tenant, team and level."""
    return f"digest-{notice.tenant}-{notice.team or 'none'}-{notice.level.label}"


def gather(batch: list[Notify], window: timedelta, key: str, overflow: int = 0) -> list[Notify]:
    """The notices for one window's alerts: per set of recipients (a person off shift for
    some of them is not sent the others'), at most DIGEST_MAX alerts a notice; a lone alert
    goes as itself. `overflow` alerts that were not kept are counted in the first."""
    groups: dict[tuple[str, ...], list[Notify]] = {}
    for notice in batch:
        groups.setdefault(tuple(sorted(c.name for c in notice.recipients)), []).append(notice)
    chunks = [
        group[start : start + DIGEST_MAX]
        for group in groups.values()
        for start in range(0, len(group), DIGEST_MAX)
    ]
    out = []
    for number, items in enumerate(chunks):
        more = overflow if number == 0 else 0
        if len(items) == 1 and not more:
            out.append(items[0])
            continue
        first = items[0]
        count = len({n.case_id for n in items})
        out.append(
            Notify(
                key=f"{key}:{number}",
                kind="breach_digest",
                case_id=first.case_id,
                tenant=first.tenant,
                level=first.level,
                team=first.team,
                recipients=items[-1].recipients,
                text=f"{len(items)} SLA alerts on {count} case{'s' if count != 1 else ''} for "
                f"team {first.team} ({first.level.label}) in the last {format_duration(window)}"
                + (f" (and {more} more not listed: see the team's list)" if more else "")
                + ":",
                items=[n.model_copy(update={"summary": None}) for n in items],
            )
        )
    return out
