"""Slider change -> redraw time of the explorers at H = W = 56 (target: <= 100 ms).

Moves one control the way a learner drags it (setting ``.value`` fires the same observer a
browser slider does) and times until the PNG is in the image widget. Prints the median and
worst of several moves per explorer, in wall time and in CPU time (``time.process_time``:
the redraw's own cost, which a busy machine does not inflate).
"""

from __future__ import annotations

import statistics
import time

from swin_edu.widgets import ComplexityExplorer, MaskExplorer, RelativePositionExplorer

TARGET_MS = 100.0


def time_moves(explorer, control: str, values: list) -> tuple[list[float], list[float]]:
    explorer.controls[control].value = values[-1]  # warm caches and fonts
    wall, cpu = [], []
    for value in values:
        start, start_cpu = time.perf_counter(), time.process_time()
        explorer.controls[control].value = value
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert explorer.message == "", explorer.message
    return wall, cpu


def main() -> None:
    cases = [
        ("MaskExplorer 56x56 M=7: shift", MaskExplorer(56, 56, 7, 3, 10, 5), "shift_size",
         [0, 1, 2, 3] * 3),
        ("MaskExplorer 56x56 M=7: window", MaskExplorer(56, 56, 7, 3, 10, 5), "window",
         list(range(0, 64, 6))),
        ("MaskExplorer 56x56 M=7: query", MaskExplorer(56, 56, 7, 3, 10, 5), "query",
         list(range(0, 49, 5))),
        ("ComplexityExplorer h=w=56: h", ComplexityExplorer(56, 56, 96, 7), "h",
         [56, 57, 58, 59, 60, 56]),
        ("RelativePositionExplorer M=7: query", RelativePositionExplorer(7, 0), "query",
         list(range(0, 49, 6))),
        # A new window size builds a new figure (the other moves redraw the same one).
        ("RelativePositionExplorer: M 2..8", RelativePositionExplorer(7, 0), "window_size",
         [2, 3, 4, 5, 6, 7, 8]),
    ]
    worst = 0.0
    for name, explorer, control, values in cases:
        wall, cpu = time_moves(explorer, control, values)
        median = statistics.median(wall)
        worst = max(worst, median)
        # CPU time is the redraw's own cost; wall time also counts other processes' load.
        print(f"{name:38s} wall median {median:6.1f} ms, max {max(wall):6.1f} ms; "
              f"CPU median {statistics.median(cpu):6.1f} ms, max {max(cpu):6.1f} ms")
    verdict = "OK" if worst <= TARGET_MS else "SLOW (is the machine busy? compare CPU times)"
    print(f"worst wall median {worst:.1f} ms vs target {TARGET_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
