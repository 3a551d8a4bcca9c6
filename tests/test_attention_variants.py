"""The Table 5 attention variants: which ones agree, and which tokens each one attends to."""

from __future__ import annotations

import pytest
import torch

from swin_edu.attention import WindowAttention, shifted_window_attention
from swin_edu.attention_variants import (
    PAPER_TABLE5_MS, VARIANTS, format_table5, global_msa, padding_mask, shifted_window_cyclic,
    shifted_window_padding, sliding_window_msa, table5, window_msa)


def _attention(dim: int = 16, window_size: int = 4, num_heads: int = 2) -> WindowAttention:
    torch.manual_seed(0)
    attention = WindowAttention(dim, window_size, num_heads).eval()
    with torch.no_grad():  # a strong bias, so a wrong offset or mask shows in the output
        attention.relative_position_bias_table.normal_(0.0, 1.0)
    return attention


# (H, W, M, S): square and not, the paper's S = M // 2 and others, one and several windows
SHAPES = [(8, 8, 4, 2), (8, 12, 4, 1), (12, 8, 4, 3), (4, 4, 4, 2), (14, 21, 7, 3), (6, 6, 3, 1)]


@pytest.mark.parametrize("H, W, M, S", SHAPES)
def test_cyclic_shift_equals_padding(H: int, W: int, M: int, S: int) -> None:
    attention = _attention(window_size=M)
    x = torch.randn(2, H, W, 16)
    with torch.no_grad():
        cyclic = shifted_window_cyclic(x, attention, S)
        padded = shifted_window_padding(x, attention, S)
    torch.testing.assert_close(padded, cyclic)


def test_cyclic_and_window_are_the_course_functions() -> None:
    attention = _attention()
    x = torch.randn(2, 8, 12, 16)
    with torch.no_grad():
        torch.testing.assert_close(shifted_window_cyclic(x, attention),
                                   shifted_window_attention(x, attention, 2), rtol=0, atol=0)
        torch.testing.assert_close(window_msa(x, attention),
                                   shifted_window_attention(x, attention, 0), rtol=0, atol=0)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_fused_equals_explicit_softmax(name: str) -> None:
    attention = _attention()
    x = torch.randn(2, 8, 12, 16)
    with torch.no_grad():
        fused = VARIANTS[name](x, attention, fused=True)
        explicit = VARIANTS[name](x, attention, fused=False)
    assert fused.shape == x.shape
    torch.testing.assert_close(fused, explicit, rtol=1e-5, atol=1e-5)


def _changed_outputs(variant, attention: WindowAttention, x: torch.Tensor,
                     token: tuple[int, int]) -> torch.Tensor:
    """``(H, W)`` bool: the outputs that move when one input token is perturbed."""
    perturbed = x.clone()
    perturbed[0, token[0], token[1]] += 3.0
    with torch.no_grad():
        delta = variant(perturbed, attention) - variant(x, attention)
    return delta[0].abs().amax(dim=-1) > 1e-5


def _expected(name: str, H: int, W: int, M: int, token: tuple[int, int]) -> torch.Tensor:
    """``(H, W)`` bool: the queries that have ``token`` among their keys, by each definition."""
    ty, tx = token
    y = torch.arange(H)[:, None].expand(H, W)
    x = torch.arange(W)[None, :].expand(H, W)
    S = M // 2
    if name == "global MSA":
        return torch.ones(H, W, dtype=torch.bool)
    if name == "window (w/o shifting)":
        return (y // M == ty // M) & (x // M == tx // M)
    if name.startswith("shifted window"):  # windows start at S + kM; the first is S wide
        return ((y - S) // M == (ty - S) // M) & ((x - S) // M == (tx - S) // M)
    # sliding window: key offsets from the query in [-(M-1)//2, M//2] on each axis
    dy, dx = ty - y, tx - x
    return (dy >= -((M - 1) // 2)) & (dy <= M // 2) & (dx >= -((M - 1) // 2)) & (dx <= M // 2)


@pytest.mark.parametrize("name", list(VARIANTS))
@pytest.mark.parametrize("M", [3, 4])
@pytest.mark.parametrize("token", [(0, 0), (5, 6), (11, 3), (7, 11)])
def test_each_variant_attends_exactly_its_tokens(name: str, M: int,
                                                 token: tuple[int, int]) -> None:
    H, W = 12, 12
    attention = _attention(window_size=M)
    x = torch.randn(1, H, W, 16)
    changed = _changed_outputs(VARIANTS[name], attention, x, token)
    expected = _expected(name, H, W, M, token)
    assert torch.equal(changed, expected), f"{name}: attended {changed.int()}\nexpected {expected.int()}"


def test_padding_mask_covers_the_real_shifted_windows() -> None:
    H, W, M, S = 8, 12, 4, 1
    mask = padding_mask(H, W, M, S)  # (nW', N, N)
    assert mask.shape == ((H // M + 1) * (W // M + 1), M * M, M * M)
    real_keys = (mask[:, 0] == 0).sum(dim=-1)  # per window
    assert real_keys.sum() == H * W
    assert real_keys.min() > 0  # no window is all padding
    # first window: S x S real tokens in its bottom-right corner
    assert real_keys[0] == S * S
    assert torch.equal(mask[:, 0], mask[:, -1])  # same keys masked for every query
    assert torch.equal(padding_mask(8, 8, 4, 0), torch.zeros(4, 16, 16))


def test_sliding_window_works_on_any_size() -> None:
    attention = _attention(window_size=5)
    with torch.no_grad():
        out = sliding_window_msa(torch.randn(1, 3, 7, 16), attention)
    assert out.shape == (1, 3, 7, 16) and torch.isfinite(out).all()


def test_global_msa_ignores_the_window() -> None:
    x = torch.randn(1, 6, 6, 16)
    with torch.no_grad():
        torch.testing.assert_close(global_msa(x, _attention(window_size=3)),
                                   global_msa(x, _attention(window_size=2)))


def test_table5_rows_and_format() -> None:
    rows = table5(stages=(1, 2), repeats=1, image_size=56, embed_dim=8, num_heads=(1, 2))
    assert len(rows) == 2 * len(VARIANTS)
    for row in rows:
        assert row["ms"] > 0
        assert row["resolution"] == 56 // 2 ** (row["stage"] + 1)
        assert row["dim"] == 8 * 2 ** (row["stage"] - 1)
        if row["variant"] == "shifted window (cyclic)":
            assert row["ratio"] == 1.0 and row["paper_ratio"] == 1.0
        paper = PAPER_TABLE5_MS.get(row["variant"])
        assert row["paper_ms"] == (paper[row["stage"] - 1] if paper else None)
    text = format_table5(rows)
    assert all(name in text for name in VARIANTS)
    assert "[x40.83]" in text  # naive sliding window, stage 1: 122.5 / 3.0
    assert "S2 (7², C=16)" in text


def test_bad_input_is_rejected() -> None:
    attention = _attention()
    with pytest.raises(ValueError, match="variants"):
        table5(stages=(1,), variants=["performer"])
    with pytest.raises(ValueError, match="stage=5"):
        table5(stages=(5,))
    with pytest.raises(ValueError, match="image_size"):
        table5(stages=(4,), image_size=112)
    with pytest.raises(ValueError, match="shift_size"):
        shifted_window_padding(torch.randn(1, 8, 8, 16), attention, shift_size=4)
    with pytest.raises(ValueError, match="x has shape"):
        sliding_window_msa(torch.randn(8, 8, 16), attention)
