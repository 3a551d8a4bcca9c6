"""Global MSA vs window MSA as the feature map grows: time, counted FLOPs and the formulas.

Run from the repository root: ``python benchmarks/scaling.py [--repeats N] [--threads T]``.
C = 96, 3 heads, M = 7 (Swin-T's first stage), batch 1, inference mode. FLOPs are counted by
``FlopCounterMode`` on the meta device (no memory, no time) and compared with the paper's
``4hwC^2 + 2(hw)^2 C`` and ``4hwC^2 + 2M^2 hwC``. Writes figures/scaling.png.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from _timing import setup, time_alternating  # noqa: E402
from swin_edu.attention import WindowAttention  # noqa: E402
from swin_edu.attention_variants import global_msa, window_msa  # noqa: E402
from swin_edu.complexity import measured_flops, msa_flops, wmsa_flops  # noqa: E402

SIDES = (14, 28, 42, 56, 84, 112)
DIM, HEADS, WINDOW = 96, 3, 7
FIGURE = Path("figures/scaling.png")


class Variant(nn.Module):
    """A variant function as a module, so that ``measured_flops`` can call it."""

    def __init__(self, fn, attention: WindowAttention) -> None:
        super().__init__()
        self.fn, self.attention = fn, attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x, self.attention)


def measure(repeats: int) -> list[dict]:
    torch.manual_seed(0)
    attention = WindowAttention(DIM, WINDOW, HEADS).eval()
    on_meta = copy.deepcopy(attention).to("meta")
    rows = []
    for side in SIDES:
        x = torch.randn(1, side, side, DIM)
        with torch.inference_mode():
            seconds = time_alternating({"MSA": lambda: global_msa(x, attention),
                                        "W-MSA": lambda: window_msa(x, attention)},
                                       repeats=repeats if side <= 56 else max(2, repeats // 3))
        meta_x = torch.empty(1, side, side, DIM, device="meta")
        rows.append(dict(
            side=side, msa_ms=1e3 * seconds["MSA"], wmsa_ms=1e3 * seconds["W-MSA"],
            msa_counted=measured_flops(Variant(global_msa, on_meta), meta_x),
            wmsa_counted=measured_flops(Variant(window_msa, on_meta), meta_x),
            msa_formula=msa_flops(side, side, DIM),
            wmsa_formula=wmsa_flops(side, side, DIM, WINDOW)))
    return rows


def plot(rows: list[dict], threads: int) -> plt.Figure:
    tokens = [row["side"] ** 2 for row in rows]
    fig, (time_ax, flops_ax) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for key, label, color in (("msa", "global MSA", "tab:red"), ("wmsa", "W-MSA (M=7)",
                                                                  "tab:blue")):
        time_ax.loglog(tokens, [row[f"{key}_ms"] for row in rows], "o-", color=color,
                       label=label)
        flops_ax.loglog(tokens, [row[f"{key}_formula"] / 1e9 for row in rows], "-",
                        color=color, label=f"{label}: paper's formula")
        flops_ax.loglog(tokens, [row[f"{key}_counted"] / 1e9 for row in rows], "o",
                        color=color, label=f"{label}: counted")
    time_ax.set(title=f"measured time (CPU, {threads} thread(s), batch 1, C={DIM})", xlabel="tokens h·w",
                ylabel="ms")
    flops_ax.set(title="GFLOPs (one multiply-add = one FLOP)", xlabel="tokens h·w",
                 ylabel="GFLOPs")
    for ax in (time_ax, flops_ax):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(setup(args.threads))
    rows = measure(args.repeats)
    print(f"{'map':>8} {'MSA ms':>9} {'W-MSA ms':>9} {'time ratio':>10} "
          f"{'FLOP ratio counted':>18} {'formula':>8}")
    for row in rows:
        print(f"{row['side']:>4}x{row['side']:<3} {row['msa_ms']:9.2f} {row['wmsa_ms']:9.2f} "
              f"{row['msa_ms'] / row['wmsa_ms']:10.2f} "
              f"{row['msa_counted'] / row['wmsa_counted']:18.2f} "
              f"{row['msa_formula'] / row['wmsa_formula']:8.2f}")
    FIGURE.parent.mkdir(exist_ok=True)
    plot(rows, args.threads).savefig(FIGURE, dpi=120)
    print(f"wrote {FIGURE}")


if __name__ == "__main__":
    main()
