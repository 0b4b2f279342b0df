"""`escalate report`: the table, and the CSV and JSON exports, from a seeded store."""

import csv
import json
from pathlib import Path

import pytest

from records import migrate
from records.store import CaseStore, sqlite_url
from tests.records.test_metrics import seed
from tests.starters.test_cli import escalate


@pytest.fixture
def seeded(tmp_path: Path) -> dict[str, str]:
    url = sqlite_url(tmp_path / "records.sqlite3")
    migrate.upgrade(url)
    store = CaseStore(url)
    seed(store)
    store.close()
    return {"ESCALATE_DATABASE_URL": url}


def test_the_report_prints_every_metric_and_writes_csv_and_json(seeded, tmp_path: Path):
    out_csv, out_json = tmp_path / "march.csv", tmp_path / "march.json"
    result = escalate(
        "report", "--tenant", "northwind-telecom", "--since", "2026-03-01",
        "--until", "2026-03-31", "--csv", str(out_csv), "--json", str(out_json), env=seeded,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = result.stdout
    # Days are New York's: March 1 00:00 EST is 05:00 UTC.
    assert "northwind-telecom: cases opened 2026-03-01 00:00 EST to 2026-04-01 00:00 EDT" in table
    for line in [
        "cases opened                  4",
        "time to resolution            median 2h 00m · p90 3h 36m · mean 2h 20m (n=3)",
        "escalation rate               50.0% (2 of 4)",
        "  escalation rate, sms        50.0% (1 of 2)",
        "first contact resolution      33.3% (1 of 3)",
        "CSAT                          3.67 of 5 · satisfied (4-5) 66.7% (2 of 3)",
        "NPS                           +0 (1 promoters, 1 passives, 1 detractors)",
        "SLA first response            66.7% met (2 met, 1 warned, 1 breached)",
        "RCA on-time rate              50.0% (1 of 2)",
        "escalation funnel             L1 4 → L2 2 → L3 1 → L4 0",
    ]:
        assert line in table, f"{line!r} not in\n{table}"
    rows = {(r["metric"], r["key"]): r for r in csv.DictReader(out_csv.open())}
    assert rows[("escalation_rate", "email")]["value"] == "1.0"
    assert rows[("time_to_resolution", "median_s")]["value"] == "7200.0"
    assert rows[("volume", "2026-03-02")]["value"] == "2"
    assert json.loads(out_json.read_text())["csat"]["distribution"] == {
        "1": 0, "2": 1, "3": 0, "4": 1, "5": 1,
    }  # fmt: skip


def test_bad_input_is_refused_clearly(seeded):
    unknown = escalate("report", "--tenant", "nope", "--since", "2026-03-01", env=seeded)
    assert unknown.returncode != 0 and "unknown tenant 'nope'" in unknown.stderr
    backwards = escalate(
        "report", "--tenant", "northwind-telecom", "--since", "2026-03-10",
        "--until", "2026-03-01", env=seeded,
    )  # fmt: skip
    assert backwards.returncode != 0 and "is before --since" in backwards.stderr
    garbled = escalate("report", "--tenant", "northwind-telecom", "--since", "March", env=seeded)
    assert garbled.returncode != 0 and "--since" in garbled.stderr
