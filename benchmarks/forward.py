"""swin_edu ``swin_t`` vs Hugging Face Swin-T, same weights, CPU forward, as a ratio.

Run from the repository root: ``python benchmarks/forward.py [--repeats N] [--threads T]``.
Inference mode, batch 1 and 8 at 224x224, alternating runs, medians.
"""

from __future__ import annotations

import argparse

import torch
import transformers

import statistics

from _timing import paired_ratio, ratio_line, run_alternating, setup
from swin_edu.convert import from_hf
from swin_edu.model import swin_t


def models() -> tuple[torch.nn.Module, torch.nn.Module]:
    """HF ``SwinForImageClassification`` (random weights) and swin_edu ``swin_t`` loaded from it."""
    torch.manual_seed(0)
    hf = transformers.SwinForImageClassification(transformers.SwinConfig(num_labels=1000)).eval()
    ours = swin_t().eval()
    ours.load_state_dict(from_hf(hf.state_dict()))
    return ours, hf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    print(setup(args.threads))
    ours, hf = models()
    for batch_size in args.batch_sizes:
        images = torch.randn(batch_size, 3, 224, 224)
        with torch.inference_mode():
            error = (ours(images) - hf(images).logits).abs().max().item()
            times = run_alternating({"swin_edu": lambda: ours(images),
                                     "HF": lambda: hf(images)},
                                    repeats=args.repeats if batch_size == 1
                                    else max(3, args.repeats // 2))
        seconds = {name: statistics.median(t) for name, t in times.items()}
        print(ratio_line(f"batch {batch_size}", seconds, "swin_edu", "HF")
              + f"; paired {paired_ratio(times, 'swin_edu', 'HF'):.3f}"
              + f"  (max |logit difference| {error:.1e})")


if __name__ == "__main__":
    main()
