"""Running the project's command line from a benchmark, as a user would, so that a failure or an interruption ends the benchmark in one sentence, not a traceback."""

from __future__ import annotations

import subprocess
import sys


def n2n(*arguments: object) -> None:
    """Run ``n2n ARGUMENTS`` in a child interpreter; when it fails (it has said why), stop the benchmark with one sentence."""
    done = subprocess.run([sys.executable, "-m", "noise2noise_keras", *map(str, arguments)])
    if done.returncode:
        raise SystemExit(
            f"n2n {arguments[0]} stopped with exit code {done.returncode} (its message above says why), and this benchmark with it: "
            "run the benchmark again once that is dealt with (an interrupted training resumes from its run folder)."
        )
