"""Issue 11: the package never returns a stale, half-done or silently wrong result.

One group of tests per defect of the issue, each reproducing it (every one of these failed
before the fix):

1. a failed checkpoint load left the model half overwritten;
2. a mask built under ``torch.inference_mode`` crashed ``WindowAttention``;
3. the bias cache went stale, was pickled with the model, and shared caches handed every
   caller the same mutable tensor;
4. a boolean mask was read as +1/+0 (nothing masked);
5. explorers got out of step with their controls and accepted/clamped bad values;
6. ``torch.jit.trace``/``torch.jit.script`` failed with unrelated messages.
"""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

from swin_edu.attention import WindowAttention, cached_mask, shifted_window_attention
from swin_edu.attention_variants import padding_mask
from swin_edu.convert import load_checkpoint
from swin_edu.masks import shifted_window_mask
from swin_edu.model import SwinTransformer
from swin_edu.widgets import (ComplexityExplorer, MaskExplorer, PatchMergingExplorer,
                              RelativePositionExplorer, ShapeTracer)

SMALL = dict(img_size=32, embed_dim=8, depths=(2, 2), num_heads=(1, 2), window_size=2,
             num_classes=5)


def small(seed: int = 0, **overrides) -> SwinTransformer:
    torch.manual_seed(seed)
    return SwinTransformer(**{**SMALL, **overrides}).eval()


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_untouched(model: torch.nn.Module, before: dict[str, torch.Tensor]) -> None:
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before)


# -- 1. all-or-nothing loading -----------------------------------------------------------------

@pytest.mark.parametrize("mine, theirs, fragment", [
    (dict(depths=(2, 4)), {}, "missing from the checkpoint"),          # shallower checkpoint
    ({}, dict(depths=(2, 4)), "not in the model"),                     # deeper checkpoint
    ({}, dict(embed_dim=16, num_heads=(2, 4)), "other shapes"),        # another embed_dim
    ({}, dict(num_heads=(2, 4)), "other shapes"),                      # other heads
    ({}, dict(num_classes=7), "head.weight: checkpoint (7, 16), model (5, 16)"),
])
def test_failed_load_leaves_the_model_untouched(mine, theirs, fragment):
    model, source = small(0, **mine), small(1, **theirs)
    before = snapshot(model)
    with pytest.raises(ValueError, match="nothing was loaded") as error:
        load_checkpoint(model, {"model": source.state_dict()})
    assert fragment in str(error.value)
    assert "the checkpoint is not a standard variant: embed_dim=" in str(error.value)
    assert "the model is not a standard variant: embed_dim=" in str(error.value)
    assert_untouched(model, before)


def test_failed_load_describes_the_checkpoint():
    with pytest.raises(ValueError) as error:
        load_checkpoint(small(0), SwinTransformer(num_classes=10).state_dict())
    text = str(error.value)
    assert "looks like Swin-T: embed_dim=96, depths=(2, 2, 6, 2)" in text
    assert "window_size=7, num_classes=10" in text


@pytest.mark.parametrize("wrap", [
    lambda sd: sd,
    lambda sd: {"model": sd},
    lambda sd: {"state_dict": sd},
    lambda sd: {"state_dict": {f"module.{k}": v for k, v in sd.items()}},
    lambda sd: {f"module.{k}": v for k, v in sd.items()},
])
def test_common_wrappers_load(wrap):
    source, model = small(1), small(0)
    load_checkpoint(model, wrap(source.state_dict()))
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(model(x), source(x))


@pytest.mark.parametrize("content, fragment", [
    (b"this is a text file\n", "is not a PyTorch checkpoint"),
    (torch.zeros(3), "single tensor of shape (3,)"),
    ({"epoch": 3, "lr": 0.1}, "not a state dict"),
])
def test_non_checkpoint_files_are_named(tmp_path, content, fragment):
    path = tmp_path / "file.pth"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    model = small(0)
    before = snapshot(model)
    with pytest.raises(ValueError, match="checkpoint") as error:
        load_checkpoint(model, path)
    assert fragment in str(error.value)
    assert_untouched(model, before)


def test_hugging_face_dict_with_a_missing_key_leaves_the_model_untouched():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.SwinConfig(image_size=32, embed_dim=8, depths=[2, 2],
                                     num_heads=[1, 2], window_size=2, num_labels=5)
    hf = transformers.SwinForImageClassification(config).eval()
    state = hf.state_dict()
    model = small(0)
    before = snapshot(model)
    broken = dict(state)
    broken.pop("swin.encoder.layers.1.blocks.1.layernorm_after.weight")
    with pytest.raises(ValueError, match="layers.1.blocks.1.norm2.weight"):
        load_checkpoint(model, broken)
    assert_untouched(model, before)
    wrong = dict(state, **{"classifier.weight": torch.zeros(6, 16)})
    with pytest.raises(ValueError, match=r"head.weight: checkpoint \(6, 16\), model \(5, 16\)"):
        load_checkpoint(model, wrong)
    assert_untouched(model, before)
    load_checkpoint(model, state)  # the whole dict loads, Hugging Face keys converted
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(x), hf(x).logits, atol=1e-5, rtol=1e-5)


# -- 2. masks from inference mode ---------------------------------------------------------------

def test_mask_built_in_inference_mode_works_later():
    torch.manual_seed(0)
    attention = WindowAttention(8, 2, 2).eval()
    windows = torch.randn(8, 4, 8)
    with torch.inference_mode():
        mask = shifted_window_mask(4, 4, 2, 1)
        inside = attention(windows, mask)
    with torch.no_grad():
        later = attention(windows, mask)
    assert torch.equal(inside, later)
    later_with_grad = attention(windows, mask)  # the table requires grad here
    torch.testing.assert_close(later_with_grad, inside)


# -- 3. no stale bias, no pickled cache, no shared mutable tensors -------------------------------

def _attention(seed=0):
    torch.manual_seed(seed)
    attention = WindowAttention(8, 2, 2).eval()
    with torch.no_grad():
        attention.relative_position_bias_table.normal_(0, 2.0)
    return attention


def test_in_place_edit_of_the_index_is_seen():
    attention, x = _attention(), torch.randn(1, 4, 4, 8)
    with torch.no_grad():
        before = shifted_window_attention(x, attention, 1)
        attention.relative_position_index.fill_(0)  # every pair reads row 0
        after = shifted_window_attention(x, attention, 1)
        fresh = _attention()
        fresh.relative_position_index.fill_(0)
        expected = shifted_window_attention(x, fresh, 1)
    assert not torch.allclose(before, after)
    assert torch.equal(after, expected)


def test_data_edit_of_a_mask_is_seen():
    attention, windows = _attention(), torch.randn(4, 4, 8)
    mask = shifted_window_mask(4, 4, 2, 1)
    with torch.no_grad():
        masked = attention(windows, mask)
        mask.data.zero_()
        unmasked = attention(windows, mask)
        expected = attention(windows, None)
    assert not torch.allclose(masked, unmasked)
    torch.testing.assert_close(unmasked, expected)


def test_model_pickle_does_not_grow_after_inference():
    model = small(0)
    before = len(pickle.dumps(model))
    with torch.inference_mode():
        model(torch.randn(1, 3, 64, 64))
        model(torch.randn(1, 3, 48, 40))
    assert len(pickle.dumps(model)) == before
    assert not [name for name, value in vars(model.layers[0].blocks[1].attn).items()
                if "cache" in name]


@pytest.mark.parametrize("get", [
    lambda: cached_mask(4, 4, 2, 1, 1),
    lambda: padding_mask(4, 4, 2, 1),
])
def test_shared_caches_hand_out_copies(get):
    first = get()
    expected = first.clone()
    first.fill_(0)
    assert torch.equal(get(), expected)


def test_editing_a_mask_cannot_change_another_model():
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        before = small(3)(x)
        cpu = torch.device("cpu")  # the key the model's own calls use
        cached_mask(8, 8, 2, 1, 1, device=cpu).fill_(1e4)  # a learner's edit of their mask
        after = small(3)(x)
    assert torch.equal(before, after)


def test_explorer_data_is_a_copy():
    explorer = MaskExplorer(H=8, W=8, window_size=4, shift_size=2, window=3, query=0)
    explorer.data["mask"][:] = 0
    explorer.data["labels"][:] = 0
    other = MaskExplorer(H=8, W=8, window_size=4, shift_size=2, window=3, query=0)
    assert (other.data["mask"] != 0).any() and (other.data["labels"] != 0).any()


# -- 4. boolean masks -----------------------------------------------------------------------------

def test_boolean_mask_follows_pytorch_convention():
    attention, windows = _attention(), torch.randn(8, 4, 8)
    mask = shifted_window_mask(4, 4, 2, 1)  # (4, 4, 4) float, -100 where masked
    allowed = mask == 0  # True = may attend
    with torch.no_grad():
        for fused in (True, False):
            torch.testing.assert_close(attention(windows, allowed, fused=fused),
                                       attention(windows, mask, fused=fused))
            all_true = torch.ones_like(allowed)
            torch.testing.assert_close(attention(windows, all_true, fused=fused),
                                       attention(windows, None, fused=fused))


def test_integer_mask_is_refused_with_the_convention():
    attention, windows = _attention(), torch.randn(4, 4, 8)
    with pytest.raises(TypeError, match="True = may attend"):
        attention(windows, torch.ones(4, 4, 4, dtype=torch.long))


# -- 5. explorers ---------------------------------------------------------------------------------

def _view(explorer):
    return (explorer.state, explorer.message, explorer.image.value,
            {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in explorer.data.items()})


def _same(a, b):
    (state_a, msg_a, png_a, data_a), (state_b, msg_b, png_b, data_b) = a, b
    return (state_a == state_b and msg_a == msg_b and png_a == png_b and data_a.keys() ==
            data_b.keys() and all(np.array_equal(np.asarray(data_a[k], dtype=object),
                                                 np.asarray(data_b[k], dtype=object))
                                  for k in data_a))


@pytest.mark.parametrize("values", [
    dict(H=16, window=99),        # H valid, window not: nothing may change
    dict(H="16"),                 # was: "outside the range", then 16 applied
    dict(H=None),                 # was: traitlets TraitError
    dict(H=True),
    dict(H=16.0),
    dict(window_size=4, query=16),
])
def test_refused_set_changes_nothing(values):
    explorer = MaskExplorer(H=8, W=8, window_size=4, shift_size=2, window=3, query=0)
    before = _view(explorer)
    with pytest.raises((ValueError, TypeError)) as error:
        explorer.set(**values)
    name = [k for k in values if k not in ("H",) or len(values) == 1][-1]
    assert f"{name}=" in str(error.value)
    assert _same(_view(explorer), before)


def test_type_errors_name_the_control_and_range():
    explorer = MaskExplorer()
    with pytest.raises(TypeError, match=r"H=None .* must be an integer in \[1, 64\]"):
        explorer.set(H=None)
    with pytest.raises(ValueError, match=r"variant='X' is not one of the options"):
        ShapeTracer().set(variant="X")


def test_message_describes_the_current_state():
    explorer = MaskExplorer(H=8, W=8, window_size=4, shift_size=2)
    explorer.set(H=6)
    assert "H=6 is not divisible" in explorer.message
    with pytest.raises(ValueError, match="window=99"):
        explorer.set(H=8, window=99)  # was: H=8 applied, the H=6 message left beside it
    assert explorer.state["H"] == 6 and "H=6 is not divisible" in explorer.message
    explorer.set(H=8)
    assert explorer.message == "" and explorer.data


@pytest.mark.parametrize("make, fragment", [
    (lambda: MaskExplorer(H=100), "H=100"),
    (lambda: MaskExplorer(window=99), "window=99"),
    (lambda: MaskExplorer(H="8"), "H='8'"),
    (lambda: ShapeTracer(image_size=5000), "image_size=5000"),
    (lambda: ShapeTracer(variant="t"), "variant='t'"),
    (lambda: ComplexityExplorer(M=0), "M=0"),
    (lambda: PatchMergingExplorer(token=16), "token=16"),
    (lambda: RelativePositionExplorer(window_size=9), "window_size=9"),
    (lambda: RelativePositionExplorer(window_size=2, query=4), "query=4"),
])
def test_constructors_refuse_what_set_refuses(make, fragment):
    with pytest.raises((ValueError, TypeError), match=fragment.replace("(", r"\(")):
        make()


def test_relative_position_explorer_tables():
    table12 = torch.randn(23 * 23, 4)
    explorer = RelativePositionExplorer(table=table12, head=3, query=143)
    assert explorer.state == {"window_size": 12, "query": 143} and explorer.message == ""
    np.testing.assert_array_equal(explorer.data["table"],
                                  table12[:, 3].view(23, 23).numpy())
    with pytest.raises(ValueError, match="head=5"):
        RelativePositionExplorer(table=torch.randn(9, 4), head=5)
    with pytest.raises(ValueError, match="window_size=3: the bias table fixes window_size=2"):
        RelativePositionExplorer(table=torch.randn(9, 4)).set(window_size=3)
    bf16 = RelativePositionExplorer(table=torch.randn(9, 2, dtype=torch.bfloat16))
    assert bf16.message == "" and bf16.data["bias"].dtype == np.float32


# -- 6. torch.jit ------------------------------------------------------------------------------

def test_jit_trace_is_refused_with_a_clear_message():
    model = small(0)
    with pytest.raises(RuntimeError, match="torch.jit.trace/torch.jit.script are not supported"):
        torch.jit.trace(model, torch.randn(1, 3, 32, 32))


def test_jit_script_is_refused_with_a_clear_message():
    with pytest.raises(RuntimeError, match="Use torch.compile"):
        torch.jit.script(small(0))
    with pytest.raises(RuntimeError, match="not supported"):
        torch.jit.script(WindowAttention(8, 2, 2))


def test_models_still_save_and_load_through_a_buffer():
    model = small(0)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    other = small(1)
    load_checkpoint(other, torch.load(buffer, weights_only=True))
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(model(x), other(x))


def test_export_is_the_supported_way_to_capture_the_model():
    model, x = small(0), torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
        exported = torch.export.export(model, (x,)).module()
        assert torch.allclose(exported(x), expected, atol=1e-6)


# -- issue 11, item 7: one vocabulary; NumPy integers are integers, bools are not ------------------

def test_numpy_integers_are_accepted_and_bools_are_not():
    from swin_edu.windows import cyclic_shift
    x = torch.arange(16.0).view(1, 4, 4, 1)
    assert torch.equal(cyclic_shift(x, np.int64(1)), cyclic_shift(x, 1))
    assert torch.equal(shifted_window_mask(np.int64(8), 8, np.int32(4), np.int64(2)),
                       shifted_window_mask(8, 8, 4, 2))
    with pytest.raises(TypeError, match="shift_size=True"):
        cyclic_shift(x, True)
    with pytest.raises(ValueError, match=r"shift_size=1.5 must be a non-negative integer"):
        shifted_window_mask(8, 8, 4, 1.5)


def test_uint8_images_get_a_hint():
    with pytest.raises(TypeError, match=r"images has dtype torch.uint8.*/ 255"):
        small(0)(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(TypeError, match=r"images has dtype torch.float64 but the weights are "
                                        r"torch.float32"):
        small(0)(torch.zeros(1, 3, 32, 32, dtype=torch.float64))
