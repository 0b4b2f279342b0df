"""Routing by the tenant's escalation matrix: teams, levels, fast-track floors, timeouts."""

from datetime import timedelta

from domain.models import Channel, Level, Priority, Tier
from domain.tenant import Contact, EscalationMatrix


def team_for(matrix: EscalationMatrix, category: str | None) -> str:
    if category is None:
        return matrix.default_team
    return matrix.categories.get(category.strip().lower(), matrix.default_team)


def fast_track_floor(matrix: EscalationMatrix, priority: Priority, tier: Tier) -> Level:
    """The lowest level that may own a case of this priority and tier."""
    floors = [Level.L1, matrix.fast_track.priority.get(priority, Level.L1)]
    floors.append(matrix.fast_track.tier.get(tier, Level.L1))
    return max(floors)


def next_level(level: Level) -> Level | None:
    return Level(level + 1) if level < Level.L4 else None


def contacts_for(matrix: EscalationMatrix, level: Level, team: str | None) -> list[Contact]:
    """Level contacts, plus the team's when the case sits with a specialist team."""
    found = list(matrix.levels[level].contacts)
    if team is not None and team in matrix.teams and team != matrix.default_team:
        found.extend(c for c in matrix.teams[team].contacts if c not in found)
    return found


def ack_timeout(matrix: EscalationMatrix, level: Level) -> timedelta:
    timeout: timedelta = matrix.levels[level].ack_timeout
    return timeout


def reminder_interval(matrix: EscalationMatrix, level: Level, reminders_sent: int) -> timedelta:
    """Reminders at the top level back off (x2 each) up to the matrix's cap."""
    base = ack_timeout(matrix, level)
    return min(base * (1 << min(reminders_sent, 16)), matrix.max_reminder_interval)


def staff_phones(matrix: EscalationMatrix) -> set[str]:
    """Every number the matrix texts staff on (levels and teams, first channel or next)."""
    contacts = [c for level in matrix.levels.values() for c in level.contacts]
    contacts += [c for team in matrix.teams.values() for c in team.contacts]
    return {r.address for c in contacts for r in c.routes if r.channel is Channel.SMS}
