"""Search attributes cases and their RCA follow-ups keep current, so both can be listed and
filtered without PII."""

from typing import Any

from temporalio.common import SearchAttributeKey

CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")
CASE_PRIORITY = SearchAttributeKey.for_keyword("CasePriority")
TENANT = SearchAttributeKey.for_keyword("Tenant")
CASE_CHANNEL = SearchAttributeKey.for_keyword("CaseChannel")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")
ASSIGNED_TEAM = SearchAttributeKey.for_keyword("AssignedTeam")
# A root-cause follow-up (RcaWorkflow): open, overdue, done. It also sets Tenant, AssignedTeam.
RCA_STATUS = SearchAttributeKey.for_keyword("RcaStatus")

# What a case keeps current.
CASE: list[SearchAttributeKey[Any]] = [
    CASE_STATUS,
    CASE_PRIORITY,
    TENANT,
    CASE_CHANNEL,
    ESCALATION_LEVEL,
    SLA_BREACHED,
    ASSIGNED_TEAM,
]
# Every attribute the namespace needs registered.
ALL: list[SearchAttributeKey[Any]] = [*CASE, RCA_STATUS]


def dev_server_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    kinds = {"KEYWORD": "Keyword", "INT": "Int", "BOOL": "Bool"}
    return [
        flag
        for key in ALL
        for flag in ("--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}")
    ]
