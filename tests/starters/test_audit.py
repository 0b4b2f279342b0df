"""`escalate audit timeline` and `export`: the whole record, texts masked unless revealed,
and every reveal recorded."""

import csv
import getpass
import io
import json
from pathlib import Path

import pytest

from records import migrate
from records.audit import reveals
from records.store import CaseStore, sqlite_url
from tests.records.test_store import batch, event, message
from tests.starters.test_cli import escalate

SECRET = "Call me on +12025550123 about my bill"


@pytest.fixture
def audited(tmp_path: Path) -> tuple[dict[str, str], str]:
    url = sqlite_url(tmp_path / "records.sqlite3")
    migrate.upgrade(url)
    store = CaseStore(url)
    store.write(
        batch(
            [message(1, SECRET), message(2, "still waiting")],
            [event(1, "opened", None), event(2, "escalated", "the customer asked")],
            case_id="c-audit",
        )
    )
    store.write(batch([message(1, "other case")], [event(1, "opened", None)], case_id="c-other"))
    store.close()
    return {"ESCALATE_DATABASE_URL": url}, url


def test_the_timeline_masks_texts_and_a_reveal_is_recorded(audited):
    env, url = audited
    masked = escalate("audit", "timeline", "c-audit", env=env)
    assert masked.returncode == 0, masked.stderr
    assert "+12025550123" not in masked.stdout and SECRET not in masked.stdout
    assert f"[{len(SECRET)} chars, sha256 " in masked.stdout
    assert "escalated  by system — the customer asked" in masked.stdout
    store = CaseStore(url)
    assert reveals(store) == []
    shown = escalate("audit", "timeline", "c-audit", "--reveal", "--by", "alice", env=env)
    assert shown.returncode == 0 and SECRET in shown.stdout
    [(_, actor, command, scope)] = reveals(store)
    login = getpass.getuser()
    assert (actor, command, scope) == (f"alice (login {login})", "timeline", "c-audit")
    store.close()


def test_export_files_one_case_or_a_tenant_as_json_or_csv(audited, tmp_path: Path):
    env, url = audited
    one = escalate("audit", "export", "c-audit", env=env)
    assert one.returncode == 0, one.stderr
    filed = json.loads(one.stdout)
    assert filed["revealed"] is False and [c["case_id"] for c in filed["cases"]] == ["c-audit"]
    first = filed["cases"][0]["messages"][0]
    assert first["text"] is None and first["chars"] == len(SECRET) and len(first["sha256"]) == 12
    assert [e["type"] for e in filed["cases"][0]["events"]] == ["opened", "escalated"]
    out = tmp_path / "tenant.csv"
    every = escalate(
        "audit", "export", "--tenant", "northwind-telecom", "--format", "csv", "--out", str(out),
        "--reveal", "--by", "bob", env=env,
    )  # fmt: skip
    assert every.returncode == 0 and "wrote 2 case(s)" in every.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["case_id"] for r in rows} == {"c-audit", "c-other"}
    assert any(r["text"] == SECRET for r in rows)  # revealed, and on record:
    store = CaseStore(url)
    assert [(a, c, s) for _, a, c, s in reveals(store)] == [
        (f"bob (login {getpass.getuser()})", "export", "tenant northwind-telecom since the start")
    ]
    store.close()


def test_bad_input_is_refused_clearly(audited):
    env, _ = audited
    both = escalate("audit", "export", "c-audit", "--tenant", "x", env=env)
    assert both.returncode != 0 and "one case id, or --tenant" in both.stderr
    missing = escalate("audit", "timeline", "nope", env=env)
    assert missing.returncode != 0 and "no case 'nope'" in missing.stderr
    bad_since = escalate("audit", "export", "--tenant", "t", "--since", "yesterday", env=env)
    assert bad_since.returncode != 0 and "--since 'yesterday'" in bad_since.stderr
