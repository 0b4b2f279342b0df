"""Where every benchmark leaves its figures: a table on stdout, JSON in bench/results/."""

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def report(name: str, result: dict[str, Any], table: str) -> Path:
    """Write `result` as bench/results/<name>.json and print `table` with the file's path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(table)
    print(f"  JSON: bench/results/{path.name}")
    return path
