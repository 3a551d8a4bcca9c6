"""swin_edu ``swin_t`` vs timm, torchvision and Hugging Face Swin-T on a CUDA device.

One prepared script for a GPU machine (about 5 minutes; needs timm, torchvision and
transformers, whichever are installed are compared). Random weights, 224x224, batch 1, 64 and
256, fp32 and bf16 autocast, eager and ``torch.compile`` (compiled at batch 64 and 256 only),
then the Table 5 reproduction on the GPU. Throughput in images/s, medians of alternating
runs. Without a CUDA device it prints a line and exits, so ``make bench`` stays CPU-only.

Run from the repository root: ``python benchmarks/gpu.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # swin_edu without installing

from _timing import run_alternating  # noqa: E402
from swin_edu.attention_variants import format_table5, table5  # noqa: E402
from swin_edu.model import swin_t  # noqa: E402


def peers() -> dict[str, torch.nn.Module]:
    """Every Swin-T we can build here, random weights, 1000 classes."""
    models = {"swin_edu": swin_t()}
    try:
        import timm
        models["timm"] = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False)
    except Exception as error:  # noqa: BLE001 - a missing peer is reported, not fatal
        print(f"timm: {error}")
    try:
        import torchvision
        models["torchvision"] = torchvision.models.swin_t()
    except Exception as error:  # noqa: BLE001
        print(f"torchvision: {error}")
    try:
        import transformers
        hf = transformers.SwinForImageClassification(transformers.SwinConfig(num_labels=1000))
        models["HF"] = _Logits(hf)
    except Exception as error:  # noqa: BLE001
        print(f"transformers: {error}")
    return {name: model.cuda().eval() for name, model in models.items()}


class _Logits(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images).logits


def throughput(models: dict[str, torch.nn.Module], batch_size: int, bf16: bool,
               repeats: int) -> dict[str, float]:
    images = torch.randn(batch_size, 3, 224, 224, device="cuda")

    def call(model):
        def run():
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
                model(images)
            torch.cuda.synchronize()
        return run

    with torch.inference_mode():
        times = run_alternating({name: call(m) for name, m in models.items()}, repeats,
                                warmup=3)
    return {name: batch_size / sorted(t)[len(t) // 2] for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no compile")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu.py: no CUDA device, skipped")
        return
    start = time.time()
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 for every contender
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}")
    eager = peers()
    repeats = 5 if args.quick else 20
    print(f"{'mode':<8} {'dtype':<5} {'batch':>5}  " + "  ".join(f"{n:>12}" for n in eager))
    for bf16 in (False, True):
        for batch_size in (1, 64, 256):
            result = throughput(eager, batch_size, bf16, repeats)
            print(f"{'eager':<8} {'bf16' if bf16 else 'fp32':<5} {batch_size:>5}  "
                  + "  ".join(f"{result[n]:12.0f}" for n in eager), flush=True)
    if not args.quick:
        compiled = {name: torch.compile(eager[name]) for name in ("swin_edu", "timm")
                    if name in eager}
        for bf16 in (False, True):
            for batch_size in (64, 256):
                result = throughput(compiled, batch_size, bf16, repeats)
                print(f"{'compiled':<8} {'bf16' if bf16 else 'fp32':<5} {batch_size:>5}  "
                      + "  ".join(f"{result[n]:12.0f}" for n in compiled), flush=True)
    print("images/s, medians of alternating runs\n")
    print(format_table5(table5(repeats=repeats, device="cuda")))
    print(f"\ntotal {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
