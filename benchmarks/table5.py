"""The paper's Table 5 on this machine: each self-attention computation at Swin-T's four stages.

Run from the repository root: ``python benchmarks/table5.py [--repeats N] [--threads T]``.
Batch 1, inference mode, alternating runs, medians (``swin_edu.attention_variants.table5``);
on a CUDA device as well when one is present.
"""

from __future__ import annotations

import argparse

import torch

from _timing import setup
from swin_edu.attention_variants import format_table5, table5


def report(rows: list[dict]) -> None:
    print(format_table5(rows))
    stage1 = {row["variant"]: row["ms"] for row in rows if row["stage"] == 1}
    if {"shifted window (cyclic)", "window (w/o shifting)"} <= stage1.keys():
        ratio = stage1["shifted window (cyclic)"] / stage1["window (w/o shifting)"]
        print(f"stage 1: shifted window (cyclic) / window (w/o shifting) = {ratio:.3f} "
              f"(paper 3.0 / 2.8 = {3.0 / 2.8:.3f}; target <= 1.15)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1)
    args = parser.parse_args()
    print(setup(args.threads))
    report(table5(repeats=args.repeats, batch_size=args.batch_size))
    if torch.cuda.is_available():
        print(f"\nCUDA: {torch.cuda.get_device_name()}")
        report(table5(repeats=args.repeats, batch_size=args.batch_size, device="cuda"))


if __name__ == "__main__":
    main()
