"""Where every benchmark's record goes: ``benchmarks/results/<name>.json`` (everything) and ``.md`` (the table people read)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from noise2noise_keras.environment import collect_environment

RESULTS = Path(__file__).resolve().parent / "results"


def write_results(name: str, record: dict[str, Any], lines: list[str], folder: Path = RESULTS) -> None:
    """Write ``name``.json and ``name``.md into ``folder`` (benchmarks/results/) and print the Markdown."""
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    (folder / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def trained_environment(run_dir: Path) -> dict[str, Any]:
    """This machine's environment at the end of the training in ``run_dir``, stamped with the commit that started it.

    A benchmark that resumes a run across sessions may finish on a later
    checkout, and on another machine; the record must name the code that
    trained it and every CPU it trained on.
    """
    starts = json.loads((run_dir / "environment.json").read_text())["starts"]
    environment = collect_environment(trained=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    environment["git_commit"] = starts[0]["git_commit"]
    environment["start_cpus"] = list(dict.fromkeys(start["cpu"] for start in starts))
    return environment
