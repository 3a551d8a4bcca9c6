"""swin_edu ``swin_t`` vs Hugging Face Swin-T, same weights, CPU forward, as a ratio.

Run from the repository root: ``python benchmarks/forward.py [--repeats N] [--threads T]``.
Inference mode, batch 1 and 8 at 224x224, alternating runs, medians.

``--bias-cache`` adds the study behind the decision to drop the attention-bias cache
(issue 11): the package (bias looked up and the mask added on every call) against the same
model with its attention forward patched three ways:

- ``no cache``: the package's computation, re-implemented here: should time as the package
  does, so its ratio shows the noise of the run;

- ``keyed cache``: reuses the bias only while the table, the index and the mask hold the
  values it was built from (compared on every call): the only kind of cache that is correct
  under every in-place edit;
- ``unchecked cache``: reuses the bias without any check. Wrong as soon as anything is edited,
  so never shippable, but an upper bound on what any cache could save.
"""

from __future__ import annotations

import argparse
import statistics
import time
import types

import torch
import transformers

from _timing import paired_ratio, ratio_line, run_alternating, setup
from swin_edu.attention import WindowAttention
from swin_edu.convert import from_hf
from swin_edu.model import swin_t


def models() -> tuple[torch.nn.Module, torch.nn.Module]:
    """HF ``SwinForImageClassification`` (random weights) and swin_edu ``swin_t`` loaded from it."""
    torch.manual_seed(0)
    hf = transformers.SwinForImageClassification(transformers.SwinConfig(num_labels=1000)).eval()
    ours = swin_t().eval()
    ours.load_state_dict(from_hf(hf.state_dict()))
    return ours, hf


def _bias(attention: WindowAttention, mask: torch.Tensor | None) -> torch.Tensor:
    """What ``WindowAttention.forward`` adds to the logits: ``(1 or nW, heads, N, N)``."""
    bias = attention.relative_position_bias()[None]
    return bias if mask is None else bias + mask.to(bias.dtype)[:, None]


def with_bias_cache(model: torch.nn.Module, checked: bool | None) -> torch.nn.Module:
    """``model`` with every ``WindowAttention.forward`` replaced by the same computation whose
    bias is rebuilt on every call (``checked=None``), reused while table, index and mask are
    unchanged (``True``) or always reused (``False``)."""
    for attention in model.modules():
        if isinstance(attention, WindowAttention):
            attention.forward = types.MethodType(_cached_forward(checked), attention)
    return model


def _same(a: torch.Tensor | None, b: torch.Tensor | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))


BIAS_SECONDS = [0.0]  # CPU time the "no cache" variant spent building biases


def _cached_forward(checked: bool | None):
    def forward(self, windows, mask=None, fused=True):
        if checked is None:
            start = time.process_time()
            bias = _bias(self, mask)
            BIAS_SECONDS[0] += time.process_time() - start
            return _forward_with_bias(self, windows, bias)
        store = self.__dict__.setdefault("_benchmark_cache", {})
        entry = store.get(id(mask))
        now = (self.relative_position_bias_table, self.relative_position_index, mask)
        if entry is None or (checked and not all(_same(a, b) for a, b in zip(entry[0], now))):
            copies = tuple(None if t is None else t.detach().clone() for t in now)
            entry = store[id(mask)] = (copies, _bias(self, mask), mask)
        return _forward_with_bias(self, windows, entry[1])
    return forward


def _forward_with_bias(self, windows, bias):
    """``WindowAttention.forward`` with a given bias (the benchmark's patched version)."""
    BnW, N, C = windows.shape
    nW = bias.shape[0]
    qkv = self.qkv(windows).view(BnW, N, 3, self.num_heads, C // self.num_heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    if nW != 1 and BnW != nW:
        bias = bias.repeat(BnW // nW, 1, 1, 1)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
    return self.proj_drop(self.proj(out.transpose(1, 2).reshape(BnW, N, C)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--bias-cache", action="store_true",
                        help="also time the model with a keyed and an unchecked bias cache")
    args = parser.parse_args()
    print(setup(args.threads))
    ours, hf = models()
    contenders = {"swin_edu": ours, "HF": hf}
    if args.bias_cache:
        for name, checked in (("no cache", None), ("keyed cache", True),
                              ("unchecked cache", False)):
            variant, _ = models()
            contenders[name] = with_bias_cache(variant, checked)
    for batch_size in args.batch_sizes:
        images = torch.randn(batch_size, 3, 224, 224)
        with torch.inference_mode():
            reference = hf(images).logits
            errors = {name: (_logits(model, images) - reference).abs().max().item()
                      for name, model in contenders.items()}
            times = run_alternating({name: (lambda m=model: m(images))
                                     for name, model in contenders.items()},
                                    repeats=args.repeats if batch_size == 1
                                    else max(3, args.repeats // 2))
        seconds = {name: statistics.median(t) for name, t in times.items()}
        print(ratio_line(f"batch {batch_size}", seconds, "swin_edu", "HF")
              + f"; paired {paired_ratio(times, 'swin_edu', 'HF'):.3f}"
              + f"  (max |logit difference| {errors['swin_edu']:.1e})")
        if args.bias_cache:
            print("  " + bias_share(contenders["no cache"], images, args.repeats))
        for name in contenders:
            if name in ("swin_edu", "HF"):
                continue
            paired = paired_ratio(times, name, "swin_edu")
            print(f"  {ratio_line(name, seconds, name, 'swin_edu')}; paired {paired:.3f} "
                  f"(saves {100 * (1 - paired):.1f}% of the package's forward; max |logit "
                  f"difference| to HF {errors[name]:.1e})")


def bias_share(model: torch.nn.Module, images: torch.Tensor, repeats: int) -> str:
    """Share of a forward's CPU time (``time.process_time``: what this process computed,
    not the time other jobs held the CPU) spent building the biases: what any bias cache could
    save at most. ``model`` is the ``no cache`` variant."""
    forward_seconds = 0.0
    BIAS_SECONDS[0] = 0.0
    with torch.inference_mode():
        model(images)
        BIAS_SECONDS[0] = 0.0
        for _ in range(repeats):
            start = time.process_time()
            model(images)
            forward_seconds += time.process_time() - start
    share = BIAS_SECONDS[0] / forward_seconds
    return (f"bias lookup + mask add: {1e3 * BIAS_SECONDS[0] / repeats:.2f} ms of "
            f"{1e3 * forward_seconds / repeats:.1f} ms CPU per forward = {100 * share:.1f}% "
            f"(the most any bias cache could save)")


def _logits(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    out = model(images)
    return out.logits if hasattr(out, "logits") else out


if __name__ == "__main__":
    main()
