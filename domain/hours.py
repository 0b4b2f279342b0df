"""Business hours, holidays and a person's working hours, as a tenant file writes them."""

import itertools
import re
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data
from pydantic import Field, ValidationInfo, field_validator, model_validator

from domain.calendar import Shift
from domain.models import Config

CHECK_HOLIDAYS = "check_holidays"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHIFT = re.compile(r"^(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})$")


def parse_shift(text: str) -> Shift:
    match = _SHIFT.match(text.strip())
    if not match:
        raise ValueError(f"invalid shift {text!r}: use 'HH:MM-HH:MM', like '08:00-17:30'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 1440 or end <= start:
        raise ValueError(f"invalid shift {text!r}: the end must come after the start, by 24:00")
    return (start, end)


def check_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc


class BusinessHours(Config):
    mon: list[str] = Field(default_factory=list)
    tue: list[str] = Field(default_factory=list)
    wed: list[str] = Field(default_factory=list)
    thu: list[str] = Field(default_factory=list)
    fri: list[str] = Field(default_factory=list)
    sat: list[str] = Field(default_factory=list)
    sun: list[str] = Field(default_factory=list)

    @field_validator(*WEEKDAYS)
    @classmethod
    def _shifts(cls, value: list[str]) -> list[str]:
        shifts = sorted(parse_shift(s) for s in value)
        for (_, end), (start, _) in itertools.pairwise(shifts):
            if start < end:
                raise ValueError(f"shifts overlap: {value}")
        return value

    @model_validator(mode="after")
    def _some_opening(self) -> "BusinessHours":
        if not any(getattr(self, day) for day in WEEKDAYS):
            raise ValueError("business hours are empty: open at least one shift a week")
        return self

    def week(self) -> dict[int, list[Shift]]:
        return {i: [parse_shift(s) for s in getattr(self, day)] for i, day in enumerate(WEEKDAYS)}


class Holidays(Config):
    country: str | None = Field(default=None, description="ISO country code for `holidays`")
    subdivision: str | None = None
    extra: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_country(self, info: ValidationInfo) -> "Holidays":
        # Checked when a file is read, not each time a case deserialises its policy.
        if not (info.context or {}).get(CHECK_HOLIDAYS):
            return self
        if self.country is None:
            if self.subdivision:
                raise ValueError("a subdivision needs a country")
            return self
        try:
            holiday_data.country_holidays(self.country, subdiv=self.subdivision, years=2026)
        except NotImplementedError as exc:
            raise ValueError(f"unknown holiday country {self.country!r}") from exc
        except Exception as exc:  # the library raises plain errors for a bad subdivision
            raise ValueError(str(exc)) from exc
        return self

    def dates(self, years: range) -> list[date]:
        found = set(self.extra)
        if self.country:
            calendar = holiday_data.country_holidays(
                self.country, subdiv=self.subdivision, years=list(years)
            )
            found.update(calendar.keys())
        return sorted(found)


class WorkingHours(BusinessHours):
    """A person's own shifts; the tenant's time zone and public holidays unless given."""

    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            check_zone(value)
        return value
