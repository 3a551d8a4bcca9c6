import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from swin_edu.attention import (WindowAttention, explicit_attention, global_attention,
                                shifted_window_attention)
from swin_edu.windows import window_partition, window_reverse


def segments(size, window_size, shift_size):
    """The real shifted windows along one axis of the original map: [0, S), [S, S+M), ...
    (only [0, size) when the shift is 0). Uneven: the first has S rows, the last M-S."""
    edges = sorted({0, size, *range(shift_size, size, window_size)} if shift_size else
                   {0, size, *range(0, size, window_size)})
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def naive_shifted_window_attention(x, attn, shift_size):
    """Cut the (up to (H/M+1) x (W/M+1)) uneven shifted windows out of the original map and
    run plain attention inside each one separately: no roll, no mask."""
    B, H, W, C = x.shape
    M, heads = attn.window_size, attn.num_heads
    out = torch.empty_like(x)
    for r0, r1 in segments(H, M, shift_size):
        for c0, c1 in segments(W, M, shift_size):
            tokens = x[:, r0:r1, c0:c1].reshape(B, -1, C)
            ys, xs = torch.meshgrid(torch.arange(r0, r1), torch.arange(c0, c1), indexing="ij")
            ys, xs = ys.flatten(), xs.flatten()
            index = (ys[:, None] - ys[None, :] + M - 1) * (2 * M - 1) + (xs[:, None] - xs[None, :] + M - 1)
            bias = attn.relative_position_bias_table[index].permute(2, 0, 1)  # (heads, n, n)
            q, k, v = attn.qkv(tokens).view(B, -1, 3, heads, C // heads).permute(2, 0, 3, 1, 4)
            y = explicit_attention(q, k, v, bias).transpose(1, 2).reshape(B, -1, C)
            out[:, r0:r1, c0:c1] = attn.proj(y).view(B, r1 - r0, c1 - c0, C)
    return out


@st.composite
def cases(draw):
    M = draw(st.integers(1, 4))
    heads = draw(st.integers(1, 2))
    return dict(B=draw(st.integers(1, 2)), H=M * draw(st.integers(1, 3)),
                W=M * draw(st.integers(1, 3)), M=M, S=draw(st.integers(0, M - 1)),
                heads=heads, C=heads * draw(st.integers(1, 3)), seed=draw(st.integers(0, 99)))


def strong_attention(C, M, heads, seed):
    torch.manual_seed(seed)
    attn = WindowAttention(C, M, heads)
    with torch.no_grad():  # large weights so that any leak across regions is visible
        attn.relative_position_bias_table.normal_(0, 2.0)
        attn.qkv.weight.normal_(0, 1.0)
    return attn


@given(cases())
def test_roll_and_mask_equals_naive_shifted_windows(c):
    attn = strong_attention(c["C"], c["M"], c["heads"], c["seed"])
    x = torch.randn(c["B"], c["H"], c["W"], c["C"], dtype=torch.float64)
    attn = attn.double()
    with torch.no_grad():
        course = shifted_window_attention(x, attn, c["S"])
        naive = naive_shifted_window_attention(x, attn, c["S"])
    # -100 is not -inf: masked keys keep a weight of about exp(-100) relative to the rest.
    torch.testing.assert_close(course, naive, rtol=1e-9, atol=1e-9)


def test_naive_reference_really_uses_nine_windows():
    assert len(segments(8, 4, 2)) ** 2 == 9 and len(segments(8, 4, 0)) ** 2 == 4


def test_without_mask_tokens_leak():
    # Ablation (official issues #52, #245): roll + partition but no mask lets the wrapped
    # tokens of the last window attend to each other, so the outputs differ from the real
    # shifted windows there, and only there.
    attn = strong_attention(4, 2, 1, 0)
    x = torch.randn(1, 4, 4, 4)
    with torch.no_grad():
        naive = naive_shifted_window_attention(x, attn, 1)
        rolled = torch.roll(x, (-1, -1), (1, 2))
        windows = attn(window_partition(rolled, 2).reshape(-1, 4, 4))  # no mask
        unmasked = window_reverse(windows.reshape(-1, 2, 2, 4), 2, 4, 4)
        unmasked = torch.roll(unmasked, (1, 1), (1, 2))
    leaked = (unmasked - naive).abs().amax(-1) > 1e-4  # (1, H, W) per-token difference
    assert leaked[0, 1:3, 1:3].eq(False).all()  # the centre window was never split
    assert leaked[0, 0, 0] and leaked[0, 3, 3]  # the wrapped corners were


@given(cases())
def test_fused_equals_explicit(c):
    attn = strong_attention(c["C"], c["M"], c["heads"], c["seed"])
    x = torch.randn(c["B"], c["H"], c["W"], c["C"])
    with torch.no_grad():
        fused = shifted_window_attention(x, attn, c["S"], fused=True)
        explicit = shifted_window_attention(x, attn, c["S"], fused=False)
    torch.testing.assert_close(fused, explicit, rtol=1e-4, atol=1e-5)


def test_global_attention_shapes():
    attn = WindowAttention(8, 2, 2)
    assert global_attention(torch.randn(2, 10, 8), attn.qkv, attn.proj, 2).shape == (2, 10, 8)


@pytest.mark.parametrize("call, message", [
    (lambda: WindowAttention(10, 7, 3), "dim=10 is not divisible by num_heads=3"),
    (lambda: WindowAttention(8, 0, 2), "window_size=0"),
    (lambda: WindowAttention(8, 2, 2)(torch.zeros(3, 5, 8)), "expected \\(B \\* nW, 4, 8\\)"),
    (lambda: WindowAttention(8, 2, 2)(torch.zeros(3, 4, 8), torch.zeros(2, 4, 4)), "not a multiple"),
    (lambda: shifted_window_attention(torch.zeros(1, 5, 4, 8), WindowAttention(8, 2, 2), 1), "H=5"),
    (lambda: shifted_window_attention(torch.zeros(1, 4, 4, 8), WindowAttention(8, 2, 2), 2), "shift_size=2"),
    (lambda: global_attention(torch.zeros(4, 8), None, None, 2), "expected rank 3"),
    (lambda: global_attention(torch.zeros(1, 4, 8), None, None, 3), "C=8 is not divisible"),
    (lambda: WindowAttention(8, 2, 2)(torch.zeros(4, 4, 8), torch.zeros(4, 9, 9)), "mask has shape"),
    (lambda: shifted_window_attention(torch.zeros(1, 4, 4, 8), WindowAttention(8, 2, 2), (1, 1, 1)), "pair"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_model_path_is_the_course_steps():
    """What every block runs is roll, partition, attend with the mask, reverse, roll back: the
    functions the notebooks build, composed by hand here, give the same numbers bit for bit."""
    from swin_edu.masks import shifted_window_mask
    from swin_edu.windows import cyclic_shift, reverse_cyclic_shift
    attn = strong_attention(8, 3, 2, seed=0)
    x = torch.randn(2, 6, 9, 8)
    with torch.no_grad():
        for fused in (True, False):
            rolled = cyclic_shift(x, (1, 2))
            windows = window_partition(rolled, 3).reshape(-1, 9, 8)
            windows = attn(windows, shifted_window_mask(6, 9, 3, (1, 2)), fused=fused)
            by_hand = reverse_cyclic_shift(window_reverse(windows.reshape(-1, 3, 3, 8), 3, 6, 9),
                                           (1, 2))
            assert torch.equal(shifted_window_attention(x, attn, (1, 2), fused=fused), by_hand)


def test_no_cached_permutation_or_mask_is_left():
    import swin_edu.attention as attention_module
    assert not hasattr(attention_module, "window_order")
    assert not [name for name, value in vars(attention_module).items()
                if hasattr(value, "cache_info")]  # no functools.lru_cache anywhere


def test_window_attention_uses_the_relative_position_bias_module():
    from swin_edu.relative_position import RelativePositionBias
    attn = strong_attention(8, 2, 2, seed=0)
    assert isinstance(attn.relative_position_bias, RelativePositionBias)
    table = attn.relative_position_bias.relative_position_bias_table
    assert attn.relative_position_bias_table is table
    assert torch.equal(attn.attention_bias()[0], attn.relative_position_bias())
    # the official key names, both ways: saved as, and loaded from, relative_position_bias_table
    state = attn.state_dict()
    assert sorted(state) == ["proj.bias", "proj.weight", "qkv.bias", "qkv.weight",
                             "relative_position_bias_table"]
    other = WindowAttention(8, 2, 2)
    assert not other.load_state_dict(state, strict=True).unexpected_keys
    assert torch.equal(other.relative_position_bias_table, attn.relative_position_bias_table)
    with pytest.raises(RuntimeError, match="relative_position_bias_table"):
        other.load_state_dict({k: v for k, v in state.items() if "table" not in k}, strict=True)


def test_boolean_false_never_attends_while_minus_100_stops_masking_near_100():
    """A masked key whose score beats the allowed one by ``gap``: with the float -100 mask it
    takes ``sigmoid(gap - 100)`` of the weight (half at a gap of 100), with ``False`` none."""
    q = torch.ones(1, 1, 2, 1, dtype=torch.float64)  # d = 1: the score is q * k
    v = torch.tensor([[[[0.0], [1.0]]]], dtype=torch.float64)  # value 1 only on the masked key
    allowed = torch.tensor([[True, False], [True, True]])
    for gap in (90.0, 100.0, 110.0):
        k = torch.tensor([[[[0.0], [gap]]]], dtype=torch.float64)
        float_mask = torch.where(allowed, 0.0, -100.0).double()
        leaked = explicit_attention(q, k, v, float_mask)[0, 0, 0, 0]
        torch.testing.assert_close(leaked, torch.sigmoid(torch.tensor(gap - 100.0)).double())
        assert explicit_attention(q, k, v, allowed)[0, 0, 0, 0] == 0.0
        fused = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed,
                                                                  scale=1.0)
        assert fused[0, 0, 0, 0] == 0.0  # PyTorch's meaning, which swin_edu now shares


def test_boolean_mask_in_the_module_matches_pytorch():
    attn = strong_attention(4, 2, 1, seed=0)
    windows = torch.randn(8, 4, 4) * 50  # large activations: score gaps far beyond 100
    allowed = torch.rand(4, 4, 4, generator=torch.Generator().manual_seed(0)) > 0.5
    allowed |= torch.eye(4, dtype=torch.bool)  # every query keeps itself
    with torch.no_grad():
        fused, explicit = attn(windows, allowed), attn(windows, allowed, fused=False)
        minus_inf = attn(windows, torch.zeros(4, 4, 4).masked_fill(~allowed, float("-inf")),
                         fused=False)
    torch.testing.assert_close(fused, explicit, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(explicit, minus_inf)


def test_a_query_with_no_allowed_key_gets_zeros_in_both_paths():
    attn = strong_attention(4, 2, 1, seed=0)
    windows = torch.randn(2, 4, 4)
    allowed = torch.ones(1, 4, 4, dtype=torch.bool)
    allowed[0, 2] = False  # query 2 may attend to nothing
    with torch.no_grad():
        fused, explicit = attn(windows, allowed), attn(windows, allowed, fused=False)
    assert torch.isfinite(explicit).all()
    torch.testing.assert_close(fused, explicit)
    torch.testing.assert_close(explicit[:, 2], attn.proj.bias.expand(2, 4))  # zeros, projected


def test_explicit_path_broadcasts_the_bias_over_the_batch():
    attn = strong_attention(4, 2, 2, seed=0)
    x = torch.randn(3, 4, 4, 4, dtype=torch.float64)
    attn = attn.double()
    with torch.no_grad():
        batched = shifted_window_attention(x, attn, 1, fused=False)
        one_by_one = torch.cat([shifted_window_attention(x[i:i + 1], attn, 1, fused=False)
                                for i in range(3)])
    torch.testing.assert_close(batched, one_by_one, rtol=1e-12, atol=1e-12)


def test_bias_follows_the_table():
    """An in-place update of the table, or a load, shows in the next inference call (the
    package once cached the bias here; kept as a guard against bringing a stale one back)."""
    attn = strong_attention(8, 2, 2, seed=0)
    x = torch.randn(2, 4, 4, 8)
    with torch.no_grad():
        before = shifted_window_attention(x, attn, 1)
        assert torch.equal(shifted_window_attention(x, attn, 1), before)  # deterministic
        attn.relative_position_bias_table.add_(1.0 + attn.relative_position_bias_table)
        after = shifted_window_attention(x, attn, 1)
        attn.load_state_dict({k: v.clone() for k, v in strong_attention(8, 2, 2, 1)
                              .state_dict().items()})
        loaded = shifted_window_attention(x, attn, 1)
    assert not torch.allclose(after, before)
    assert not torch.allclose(loaded, after)
    torch.testing.assert_close(loaded, shifted_window_attention(x, attn, 1, fused=False)
                               .detach())


def test_bias_table_gets_gradients_after_inference():
    """Masks and orders first built in inference must not cut the table out of the training
    graph."""
    attn = strong_attention(8, 2, 2, seed=0)
    x = torch.randn(1, 6, 10, 8)  # a size no other test uses: its caches start in inference
    with torch.inference_mode():
        shifted_window_attention(x, attn, 1)
    shifted_window_attention(x, attn, 1).square().sum().backward()
    assert attn.relative_position_bias_table.grad.abs().sum() > 0


def test_bias_sees_data_edits_of_the_table():
    attn = strong_attention(4, 2, 2, 1)
    x = torch.randn(1, 4, 4, 4)
    with torch.no_grad():
        shifted_window_attention(x, attn, 1)
        attn.relative_position_bias_table.data.normal_(0, 3.0)  # .data: no version bump
        fresh = WindowAttention(4, 2, 2)
        fresh.load_state_dict(attn.state_dict())
        torch.testing.assert_close(shifted_window_attention(x, attn, 1),
                                   shifted_window_attention(x, fresh, 1))


def test_frozen_table_inference_then_training():
    attn = strong_attention(4, 2, 2, 2)
    attn.relative_position_bias_table.requires_grad_(False)  # e.g. adapter fine-tuning
    x = torch.randn(1, 4, 4, 4)
    with torch.inference_mode():
        shifted_window_attention(x, attn, 0)
        shifted_window_attention(x, attn, 1)
    attn.train()
    for shift in (0, 1):
        shifted_window_attention(x, attn, shift).sum().backward()
    assert attn.qkv.weight.grad is not None


def test_explicit_path_applies_attention_dropout_in_training():
    attn = WindowAttention(4, 2, 1, attn_drop=0.5)
    x = torch.randn(1, 4, 4, 4)
    with torch.no_grad():
        evaluated = shifted_window_attention(x, attn.eval(), 1, fused=False)
        trained = shifted_window_attention(x, attn.train(), 1, fused=False)
    assert not torch.allclose(evaluated, trained)
