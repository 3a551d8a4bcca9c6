import functools
import re

import pytest
import torch

from swin_edu.convert import from_hf, load_checkpoint, resize_relative_position_bias_table
from swin_edu.model import swin_t

transformers = pytest.importorskip("transformers")

# transformers 5.x name -> 4.x name, to check both generations of checkpoints convert.
TO_V4 = [(r"\.attention\.q_proj\.", ".attention.self.query."),
         (r"\.attention\.k_proj\.", ".attention.self.key."),
         (r"\.attention\.v_proj\.", ".attention.self.value."),
         (r"\.attention\.o_proj\.", ".attention.output.dense."),
         (r"\.attention\.relative_position_bias\.", ".attention.self."),
         (r"\.mlp\.fc1\.", ".intermediate.dense."), (r"\.mlp\.fc2\.", ".output.dense.")]


@functools.lru_cache(maxsize=1)
def hf_state_dict(seed=0):
    return {k: v.clone() for k, v in _strong_hf_model(seed).state_dict().items()}


def hf_model(seed=0):
    """A fresh Hugging Face model (it changes its layers' state on its first call) loaded with
    the cached strong random weights."""
    model = transformers.SwinForImageClassification(transformers.SwinConfig(num_labels=1000))
    model.load_state_dict(hf_state_dict(seed))
    return model.double().eval()


def _strong_hf_model(seed=0, config=None):
    """Hugging Face Swin-T (or the Swin of ``config``) with random weights strong enough that a
    wrong mask, bias or channel order changes the logits: sharp attention (large query/key
    weights), a large relative position bias, non-trivial LayerNorm affines. Float64, so that
    the comparison measures the network and not float32 rounding of such sharp softmaxes."""
    torch.manual_seed(seed)
    config = config or transformers.SwinConfig(num_labels=1000)
    model = transformers.SwinForImageClassification(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "relative_position_bias_table" in name:
                p.normal_(0, 1.0)
            elif any(part in name for part in ("q_proj", "k_proj", "query", "key")):
                p.normal_(0, 0.2)
            elif "norm" in name:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.1)
            else:
                p.normal_(0, 0.05)
    return model.double()


def as_v4(state_dict):
    converted = {}
    for key, value in state_dict.items():
        for pattern, replacement in TO_V4:
            key = re.sub(pattern, replacement, key)
        converted[key] = value
    if not any("self.query" in k for k in state_dict):  # 4.x stored the index as a buffer
        for key in list(converted):
            if key.endswith("self.relative_position_bias_table"):
                converted[key.replace("bias_table", "index")] = torch.zeros(49, 49)
    return converted


def ours_from(state_dict):
    model = swin_t().double().eval()
    result = model.load_state_dict(from_hf(state_dict), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    return model


def relative_error(a, b):
    return ((a - b).norm() / b.norm()).item()


# 256: 64, 32, 16, 8 -> padded at every stage; (256, 320): non-square, padded everywhere;
# 224x320, 320x224, 224x448: the last stage's short side fits one window (7x10, 10x7, 7x14),
# where the official rule drops the shift on both axes and torchvision's would not.
SIZES = [224, 256, (256, 320), (224, 320), (320, 224), (224, 448)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: s if isinstance(s, int) else "x".join(map(str, s)))
def test_logits_equal_hugging_face(size):
    hf = hf_model()  # fresh: HF changes its layers' window/shift on the first call
    ours = ours_from(hf.state_dict())
    height, width = (size, size) if isinstance(size, int) else size
    x = torch.randn(1, 3, height, width, dtype=torch.float64)
    with torch.no_grad():
        expected, got = hf(x).logits, ours(x)
    assert relative_error(got, expected) <= 1e-5


def no_shift_in_stage_1(model):
    for block in model.layers[0].blocks:
        block.shift_size = 0  # SW-MSA silently turned into W-MSA


def no_bias_in_one_block(model):
    model.layers[1].blocks[0].attn.relative_position_bias_table.zero_()


@pytest.mark.parametrize("sabotage", [no_shift_in_stage_1, no_bias_in_one_block])
def test_the_parity_test_can_fail(sabotage):
    hf = hf_model()
    ours = ours_from(hf.state_dict())
    x = torch.randn(1, 3, 224, 224, dtype=torch.float64)
    with torch.no_grad():
        expected = hf(x).logits
        sabotage(ours)
        assert relative_error(ours(x), expected) > 0.05


def test_float32_logits_agree_too():
    hf = hf_model().float()
    ours = ours_from(hf.state_dict()).float()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert relative_error(ours(x), hf(x).logits) <= 1e-3


def test_transformers_4x_key_names_convert_too():
    hf = hf_model()
    ours = ours_from(as_v4(hf.state_dict()))
    x = torch.randn(1, 3, 224, 224, dtype=torch.float64)
    with torch.no_grad():
        assert relative_error(ours(x), hf(x).logits) <= 1e-5


@pytest.mark.parametrize("size", [(192, 192), (100, 116)])
def test_sizes_where_hugging_face_fails_still_work(size):
    ours = ours_from(hf_model().state_dict())
    with torch.no_grad():
        logits = ours(torch.randn(1, 3, *size, dtype=torch.float64))
    assert torch.isfinite(logits).all()


def test_model_keeps_no_state_between_calls():
    ours = ours_from(hf_model().state_dict())
    x = torch.randn(1, 3, 224, 224, dtype=torch.float64)
    with torch.no_grad():
        before = ours(x)
        ours(torch.randn(1, 3, 100, 116, dtype=torch.float64))
        after = ours(x)
    assert torch.equal(before, after)


def test_from_hf_rejects_foreign_keys():
    with pytest.raises(ValueError, match="unrecognised Hugging Face key 'bert.embeddings"):
        from_hf({"bert.embeddings.word_embeddings.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"only \['q'\] of query/key/value"):
        from_hf({"swin.encoder.layers.0.blocks.0.attention.q_proj.weight": torch.zeros(1)})


def test_resize_bias_table_identity_and_shape():
    table = torch.randn(13 ** 2, 4)
    assert torch.equal(resize_relative_position_bias_table(table, 7), table)
    resized = resize_relative_position_bias_table(table, 12)
    assert resized.shape == (23 ** 2, 4)
    # Head 0 grows with dy, head 1 with dx: a transposed or head-mixing resize breaks both.
    dy, dx = torch.meshgrid(torch.arange(13.0), torch.arange(13.0), indexing="ij")
    ramps = torch.stack([dy.flatten(), dx.flatten()], dim=1)  # (169, 2)
    grid = resize_relative_position_bias_table(ramps, 12).T.reshape(2, 23, 23)
    assert (grid[0, 1:, :] >= grid[0, :-1, :] - 1e-4).all() and grid[0, 0].std() < 1e-4
    assert (grid[1, :, 1:] >= grid[1, :, :-1] - 1e-4).all() and grid[1, :, 0].std() < 1e-4
    torch.testing.assert_close(grid[0, 11, 11], torch.tensor(6.0))  # centre stays the centre


def test_resize_bias_table_bad_input():
    with pytest.raises(ValueError, match="new_window_size=0"):
        resize_relative_position_bias_table(torch.randn(169, 3), 0)
    with pytest.raises(ValueError, match="170 rows"):
        resize_relative_position_bias_table(torch.randn(170, 3), 7)


def test_load_official_checkpoint_with_buffers_and_new_window(tmp_path):
    source = swin_t(num_classes=10)
    state = dict(source.state_dict())
    state["layers.0.blocks.0.attn.relative_position_index"] = torch.zeros(49, 49).long()
    state["layers.0.blocks.1.attn_mask"] = torch.zeros(64, 49, 49)
    torch.save({"model": state}, tmp_path / "swin_tiny.pth")
    same = load_checkpoint(swin_t(num_classes=10), tmp_path / "swin_tiny.pth")
    assert torch.equal(same.head.weight, source.head.weight)
    bigger = load_checkpoint(swin_t(num_classes=10, window_size=12, img_size=384),
                             {"model": state})
    assert bigger.layers[0].blocks[0].attn.relative_position_bias_table.shape == (529, 3)
