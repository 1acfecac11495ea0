"""Two (or more) settings of the Keras training step measured side by side: alternating child processes, one table.

Each setting is extra environment variables and child arguments (e.g. ``keras_training``'s)
for ``throughput.py``'s child processes (synthetic tensors, XLA off, warm-up
excluded). Settings alternate within every round, so a slow spell on this
shared machine hits all of them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from throughput import PRIMITIVE_CLASSES, PROFILE_STEPS, SHAPES, run_child


@dataclass(frozen=True)
class Setting:
    environment: dict[str, str] = field(default_factory=dict)
    arguments: dict[str, Any] = field(default_factory=dict)


def alternating(kind: str, settings: dict[str, Setting], cases: dict[str, dict[str, Any]], rounds: int, **fixed: Any) -> dict[str, list[float]]:
    """Median seconds of each ``kind`` child, keyed ``"{case} {setting}"``, one entry per round; the settings alternate within every case."""
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for case, arguments in cases.items():
            for name, setting in settings.items():
                row = run_child(kind, setting.environment, **fixed, **arguments, **setting.arguments)
                times.setdefault(f"{case} {name}", []).append(row["median_s"])
    return times


def alternating_steps(settings: dict[str, Setting], precisions: list[str], rounds: int, steps: int) -> dict[str, list[float]]:
    """Median s/step of each training child, keyed ``"{batch}x{crop} {precision} {setting}"``, one entry per round."""
    cases = {f"{batch}x{crop} {precision}": dict(batch=batch, crop=crop, precision=precision) for batch, crop in SHAPES for precision in precisions}
    return alternating("keras_training", settings, cases, rounds, xla=False, feed="synthetic", data_root="", steps=steps)


def steps_table(times: dict[str, list[float]], settings: list[str], precisions: list[str]) -> list[str]:
    """Markdown: median over rounds (each round's median in brackets) per setting, and the first / second ratio per round."""
    first, second = settings[:2]
    lines = ["| batch × crop | precision | " + " | ".join(f"{name} (s)" for name in settings) + f" | {first} / {second}, per round |",
             "|---|---|" + "---|" * (len(settings) + 1)]  # fmt: skip
    for batch, crop in SHAPES:
        for precision in precisions:
            rows = [times[f"{batch}x{crop} {precision} {name}"] for name in settings]
            cells = [f"{np.median(row):.3f} ({', '.join(f'{t:.3f}' for t in row)})" for row in rows]
            ratios = ", ".join(f"{a / b:.2f}" for a, b in zip(rows[0], rows[1]))
            lines.append(f"| {batch} × {crop}² | {precision} | " + " | ".join(cells) + f" | {ratios} |")
    return lines


def profile_ms(framework: str, setting: Setting) -> dict[str, float]:
    """One oneDNN-verbose child at the first shape: ms per step by kind of primitive, and the step's wall time."""
    batch, crop = SHAPES[0]
    profile = run_child("onednn_profile", {"ONEDNN_VERBOSE": "1", **setting.environment}, framework=framework, batch=batch, crop=crop,
                        steps=PROFILE_STEPS, **setting.arguments)  # fmt: skip
    by_class = {name: sum(row["ms_per_step"] for row in profile["primitives"] if select(row)) for name, select in PRIMITIVE_CLASSES.items()}
    return {**by_class, "step (wall, verbose on)": profile["median_s"] * 1000}


def profiles_table(profiles: dict[str, dict[str, float]]) -> list[str]:
    """Markdown: oneDNN ms per step by kind of primitive, one column per profile."""
    batch, crop = SHAPES[0]
    lines = [f"oneDNN verbose, ms per step at {batch} × {crop}² (mean of {PROFILE_STEPS} steps after warm-up):", "",
             "| ms per step | " + " | ".join(profiles) + " |", "|---|" + "---|" * len(profiles)]  # fmt: skip
    first = next(iter(profiles.values()))
    return lines + [f"| {key} | " + " | ".join(f"{profile[key]:.0f}" for profile in profiles.values()) + " |" for key in first]


def op_profile(setting: Setting) -> dict[str, Any]:
    """One TensorFlow-profiler child at the first shape (``throughput.op_profile``)."""
    batch, crop = SHAPES[0]
    return run_child("op_profile", setting.environment, batch=batch, crop=crop, steps=PROFILE_STEPS, **setting.arguments)


def op_types_table(profiles: dict[str, dict[str, Any]], rows: int = 12) -> list[str]:
    """Markdown: ms per step of the op types that lead any profile, one column per profile."""
    batch, crop = SHAPES[0]
    leading = list(dict.fromkeys(name for profile in profiles.values() for name in list(profile["ms_by_type"])[:rows]))
    lines = [f"TensorFlow profiler, ms per step at {batch} × {crop}² by op type (mean of {PROFILE_STEPS} traced steps, summed over inter-op threads):", "",
             "| op type | " + " | ".join(profiles) + " |", "|---|" + "---|" * len(profiles)]  # fmt: skip
    lines += [f"| `{name}` | " + " | ".join(f"{profile['ms_by_type'].get(name, 0.0):.1f}" for profile in profiles.values()) + " |" for name in leading]
    lines.append("| **all ops** | " + " | ".join(f"{sum(profile['ms_by_type'].values()):.0f}" for profile in profiles.values()) + " |")
    return lines + ["| step (wall, tracing) | " + " | ".join(f"{profile['median_s'] * 1000:.0f}" for profile in profiles.values()) + " |"]
