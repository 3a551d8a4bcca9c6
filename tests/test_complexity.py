import pytest
import torch

from swin_edu.attention import WindowAttention, global_attention
from swin_edu.complexity import (count_parameters, measured_flops, model_flops, msa_flops,
                                 wmsa_flops)
from swin_edu.model import swin_b, swin_l, swin_s, swin_t


def test_seed_saving_at_112():
    assert msa_flops(112, 112, 128) - wmsa_flops(112, 112, 128, 7) == 40_124_743_680


def test_formulas_term_by_term():
    h, w, C, M = 8, 6, 16, 2
    assert msa_flops(h, w, C) == 3 * h * w * C * C + (h * w) ** 2 * C * 2 + h * w * C * C
    windows = (h // M) * (w // M)
    assert wmsa_flops(h, w, C, M) == windows * msa_flops(M, M, C)


# Paper Table 1: (factory, overrides, image size, GFLOPs, M params)
TABLE_1 = [(swin_t, {}, 224, 4.5, 28), (swin_s, {}, 224, 8.7, 50), (swin_b, {}, 224, 15.4, 88),
           (swin_l, {}, 224, 34.5, 197),
           (swin_b, dict(img_size=384, window_size=12), 384, 47.0, 88),
           (swin_l, dict(img_size=384, window_size=12), 384, 103.9, 197)]


@pytest.mark.parametrize("factory, overrides, size, gflops, mparams", TABLE_1)
def test_model_flops_reproduce_table_1(factory, overrides, size, gflops, mparams):
    with torch.device("meta"):  # shapes only: no memory, no random initialisation
        model = factory(**overrides)
    # The paper prints one decimal; Swin-B/384 counts 47.10 G here and in the official
    # repository's flops() (the paper prints 47.0), hence comparing the printed value.
    assert abs(round(model_flops(model, size) / 1e9, 1) - gflops) <= 0.1 + 1e-9
    assert abs(count_parameters(model) / 1e6 - mparams) <= 1.0


def test_measured_flops_agree_with_model_flops():
    model = swin_t().eval()
    measured = measured_flops(model, torch.randn(1, 3, 224, 224))
    assert abs(measured - model_flops(model, 224)) / model_flops(model, 224) <= 0.02


def test_measured_attention_flops_match_formulas():
    h = w = 14
    C, M = 32, 7
    attn = WindowAttention(C, M, num_heads=2)
    x = torch.randn(1, h * w, C)
    assert measured_flops(lambda t: global_attention(t, attn.qkv, attn.proj, 2), x) == msa_flops(h, w, C)
    windows = torch.randn((h // M) * (w // M), M * M, C)
    assert measured_flops(attn, windows) == wmsa_flops(h, w, C, M)


@pytest.mark.parametrize("call, message", [
    (lambda: msa_flops(0, 4, 8), "h=0"), (lambda: wmsa_flops(4, 4, 8, 0), "M=0"),
    (lambda: model_flops(swin_t(), 0), "image_size=0"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
