"""Where every benchmark's record goes: ``benchmarks/results/<name>.json`` (everything) and ``.md`` (the table people read)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(name: str, record: dict[str, Any], lines: list[str], folder: Path = RESULTS) -> None:
    """Write ``name``.json and ``name``.md into ``folder`` (benchmarks/results/) and print the Markdown."""
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    (folder / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
