#!/bin/sh
# Creates the namespace and the case search attributes (workflows/visibility.py); idempotent.
set -eu
ns="${NAMESPACE:-default}"
temporal operator namespace describe -n "$ns" >/dev/null 2>&1 || temporal operator namespace create -n "$ns" --retention 30d
for attr in CaseStatus=Keyword CasePriority=Keyword Tenant=Keyword CaseChannel=Keyword \
            EscalationLevel=Int SlaBreached=Bool AssignedTeam=Keyword RcaStatus=Keyword; do
  name="${attr%%=*}"; type="${attr#*=}"
  temporal operator search-attribute create -n "$ns" --name "$name" --type "$type" 2>/dev/null \
    || echo "search attribute $name already registered"
done
echo "namespace $ns and search attributes ready"
