"""Tiny, seeded experiments for the capstone: baselines, a task that needs the shift, ablations.

Everything here trains in seconds on one CPU thread:

- data: :func:`digits_split` (scikit-learn's 8x8 digits, one fixed split) and
  :func:`jigsaw_pairs`, a synthetic task whose label needs information from both sides of a
  window border: is a 2x2 jigsaw of window-sized tiles solved (:func:`seams_match`), or are
  the same four tiles shuffled (:func:`shuffle_tiles`)?
- models: :class:`TinyCNN`, :class:`TinyViT` (global attention, learned absolute positions)
  and :func:`tiny_swin`, a :class:`swin_edu.model.SwinTransformer` with the switches of the
  paper's Table 4: ``shift``, ``position`` (``"relative"``, ``"absolute"``, ``"both"``,
  ``"none"``) and ``mask``. The switches are built by composition, the package's classes stay
  as they are.
- :func:`train` (AdamW, one-cycle schedule, seeded shuffling) and :func:`run_seeds`.

Why the jigsaw defeats W-MSA alone: with ``patch_size`` 1, no patch merging and no absolute
position, every token of a W-MSA-only network depends on the pixels of its own window only,
and each window goes through the same weights; the mean over tokens is then a mean over
windows. Shuffling the tiles therefore leaves the logits unchanged, and a solved jigsaw and
its shuffled twin get the same prediction: on a test set of such pairs the accuracy is exactly
50%, whatever the training. One SW-MSA block sees across the borders and can learn the task.

Taught in notebooks/08_capstone_training, 09_shift_experiment and 10_ablations.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from swin_edu._checks import (ArgumentTypeError, check_bool, check_int, check_module,
                              check_positive, check_rank, check_real)
from swin_edu.attention import WindowAttention, global_attention
from swin_edu.model import Mlp, SwinTransformer
from swin_edu.patches import PatchEmbed

__all__ = ["seed_everything", "Split", "digits_split", "PALETTE", "tile_view", "shuffle_tiles",
           "seams_match", "jigsaw_pairs", "TinyCNN", "TinyViT", "UnmaskedWindowAttention",
           "POSITIONS", "tiny_swin", "History", "train", "accuracy", "run_seeds", "mean_std",
           "PAPER_TABLE4_TOP1"]

# Swin-T, ImageNet-1K top-1 (%), Table 4 of the paper (Liu et al., 2021).
PAPER_TABLE4_TOP1: dict[str, float] = {
    "w/o shifting": 80.2, "shifted windows": 81.3, "no pos.": 80.1, "abs. pos.": 80.5,
    "abs.+rel. pos.": 81.3, "rel. pos. w/o app.": 79.3, "rel. pos.": 81.3,
}

# Six well-separated RGB colours for the jigsaw tiles.
PALETTE = torch.tensor([[0.90, 0.10, 0.10], [0.10, 0.60, 0.20], [0.15, 0.30, 0.90],
                        [0.95, 0.80, 0.10], [0.60, 0.20, 0.70], [0.10, 0.80, 0.85]])


def seed_everything(seed: int, threads: int = 1) -> None:
    """Seed Python, NumPy and torch; one thread and deterministic kernels for torch.

    One thread: the matrices here are tiny, and a fixed reduction order keeps every printed
    number the same from run to run.
    """
    seed = check_int("seed", seed, low=0, high=2**32 - 1)  # NumPy's range
    threads = check_positive("threads", threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


@dataclass(frozen=True)
class Split:
    """A train/test split: images ``(N, C, H, W)`` float, labels ``(N,)`` long."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def num_classes(self) -> int:
        return int(torch.cat([self.y_train, self.y_test]).max()) + 1


def digits_split(test_size: float = 0.25, random_state: int = 0) -> Split:
    """scikit-learn's 1,797 handwritten digits, 8x8 grey levels, one stratified split.

    Pixels are scaled to ``[0, 1]`` and standardised with the training set's mean and
    standard deviation. Returns images ``(N, 1, 8, 8)``.
    """
    check_real("test_size", test_size, 0.0, 1.0, low_open=True, high_open=True)
    random_state = check_int("random_state", random_state, low=0, high=2**32 - 1)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0  # (N, 1, 8, 8)
    labels = torch.tensor(digits.target)
    train_idx, test_idx = train_test_split(torch.arange(len(labels)), test_size=test_size,
                                           random_state=random_state, stratify=labels)
    mean, std = images[train_idx].mean(), images[train_idx].std()
    images = (images - mean) / std
    return Split(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx])


def tile_view(images: torch.Tensor, tile: int) -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B, C, H/tile, W/tile, tile, tile)``: the tiles of each image."""
    check_rank("images", images, 4, "(B, C, H, W)")
    check_positive("tile", tile)
    B, C, H, W = images.shape
    if H % tile or W % tile:
        raise ValueError(f"images of {H}x{W} do not split into tiles of {tile}x{tile}")
    return images.view(B, C, H // tile, tile, W // tile, tile).permute(0, 1, 2, 4, 3, 5)


def shuffle_tiles(images: torch.Tensor, order: torch.Tensor, tile: int) -> torch.Tensor:
    """Rearrange the ``tile x tile`` blocks of every image.

    Args:
        images: ``(B, C, H, W)``.
        order: ``(B, T)`` with ``T = (H/tile) * (W/tile)``: tile ``t`` of the result (row-major)
            is tile ``order[b, t]`` of the input.
    Returns:
        ``(B, C, H, W)``.
    """
    tiles = tile_view(images, tile)  # (B, C, gh, gw, tile, tile)
    B, C, gh, gw = tiles.shape[:4]
    if order.shape != (B, gh * gw):
        raise ValueError(f"order has shape {tuple(order.shape)}; expected ({B}, {gh * gw})")
    flat = tiles.reshape(B, C, gh * gw, tile, tile)
    index = order.view(B, 1, gh * gw, 1, 1).expand_as(flat)
    moved = flat.gather(2, index).view(B, C, gh, gw, tile, tile)
    return moved.permute(0, 1, 2, 4, 3, 5).reshape(images.shape)


def seams_match(images: torch.Tensor, tile: int) -> torch.Tensor:
    """The jigsaw label: ``True`` where, along every border between tiles, each pixel equals
    its neighbour on the other side. ``(B, C, H, W)`` -> ``(B,)`` bool."""
    check_rank("images", images, 4, "(B, C, H, W)")
    check_positive("tile", tile)
    H, W = images.shape[-2:]
    ok = torch.ones(images.shape[0], dtype=torch.bool)
    for k in range(tile, W, tile):  # vertical borders: column k-1 | column k
        ok &= (images[..., k - 1] == images[..., k]).flatten(1).all(1)
    for k in range(tile, H, tile):  # horizontal borders: row k-1 / row k
        ok &= (images[..., k - 1, :] == images[..., k, :]).flatten(1).all(1)
    return ok


def jigsaw_pairs(num_pairs: int, seed: int, tile: int = 4, grid: int = 2,
                 palette: torch.Tensor = PALETTE) -> tuple[torch.Tensor, torch.Tensor]:
    """Solved jigsaws and, for each, the same tiles shuffled.

    A solved image is black except for a *knot* where four tiles meet (2x2 pixels of one
    random colour of ``palette``, one pixel in each tile) and one *peg* per border between two
    tiles: a domino of two pixels of one random colour, one on each side of the border, at a
    random place along it (two pixels or more away from a knot, so nothing touches). Its twin is
    the same ``grid x grid`` tiles in a random other order, redrawn until some border no
    longer matches (:func:`seams_match`). Images ``2k`` (solved, label 1) and ``2k + 1``
    (shuffled, label 0) are twins.

    Returns:
        ``images (2 * num_pairs, C, grid*tile, grid*tile)`` float with ``C`` the palette's
        channels, ``labels (2 * num_pairs,)`` long.
    """
    check_positive("num_pairs", num_pairs)
    check_positive("tile", tile)
    check_positive("grid", grid)
    if grid < 2 or tile < 3:
        raise ValueError(f"grid={grid}, tile={tile}: need grid >= 2 (a border) and tile >= 3 "
                         f"(room for a peg away from the knots)")
    g = torch.Generator().manual_seed(seed)
    solved, shuffled = [], []
    while sum(len(batch) for batch in solved) < num_pairs:  # a few rounds at most
        candidates = _solved_jigsaws(num_pairs, g, tile, grid, palette)
        order = torch.stack([torch.randperm(grid * grid, generator=g) for _ in candidates])
        twins = shuffle_tiles(candidates, order, tile)
        keep = ~seams_match(twins, tile)  # drop the rare shuffles that still fit
        solved.append(candidates[keep])
        shuffled.append(twins[keep])
    solved, shuffled = torch.cat(solved)[:num_pairs], torch.cat(shuffled)[:num_pairs]
    images = torch.stack([solved, shuffled], 1).flatten(0, 1)  # twins side by side
    labels = torch.tensor([1, 0]).repeat(num_pairs)
    return images, labels


def _solved_jigsaws(n: int, g: torch.Generator, tile: int, grid: int,
                    palette: torch.Tensor) -> torch.Tensor:
    """``n`` solved jigsaws ``(n, C, grid*tile, grid*tile)`` (see :func:`jigsaw_pairs`)."""
    side = grid * tile
    colours = torch.zeros(n, side, side, dtype=torch.long)  # 0: black background
    rows = torch.arange(n)
    for i in range(grid):  # tile row i
        for j in range(grid - 1):  # border between tile columns j and j + 1, at x = (j+1)*tile
            for vertical in (True, False):  # the same for horizontal borders, transposed
                low = i * tile + 2 * (i > 0)  # keep away from the knots (two pixels)
                high = (i + 1) * tile - 2 * (i < grid - 1)
                along = torch.randint(low, high, (n,), generator=g)
                colour = torch.randint(1, len(palette) + 1, (n,), generator=g)
                x = (j + 1) * tile
                for across in (x - 1, x):
                    if vertical:
                        colours[rows, along, across] = colour
                    else:
                        colours[rows, across, along] = colour
    for i in range(1, grid):  # a knot where four tiles meet: 2x2 pixels of one colour
        for j in range(1, grid):
            colour = torch.randint(1, len(palette) + 1, (n, 1, 1), generator=g)
            colours[:, i * tile - 1:i * tile + 1, j * tile - 1:j * tile + 1] = colour
    table = torch.cat([torch.zeros(1, palette.shape[1]), palette])  # black, then the palette
    return table[colours].permute(0, 3, 1, 2).contiguous()


class TinyCNN(nn.Module):
    """Two 3x3 convolutions, 2x2 max pooling, a linear head. ``(B, C, H, W)`` -> logits."""

    def __init__(self, in_chans: int = 1, num_classes: int = 10, width: int = 16) -> None:
        check_positive("in_chans", in_chans)
        check_positive("num_classes", num_classes)
        check_positive("width", width)
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images).mean(dim=(2, 3)))


class _ViTBlock(nn.Module):
    """Pre-norm transformer block with global multi-head attention. ``(B, L, C)``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + global_attention(self.norm1(x), self.qkv, self.proj, self.num_heads)
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    """ViT in miniature: patch embedding, learned absolute position embedding, blocks of
    global attention (every token attends to every token), mean over tokens, linear head.

    ``(B, in_chans, img_size, img_size)`` -> ``(B, num_classes)``.
    """

    def __init__(self, img_size: int = 8, patch_size: int = 1, in_chans: int = 1,
                 num_classes: int = 10, embed_dim: int = 32, depth: int = 2, num_heads: int = 2,
                 mlp_ratio: float = 2.0) -> None:
        super().__init__()
        check_positive("img_size", img_size)
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim, True)
        tokens = (img_size // patch_size) ** 2
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = nn.Sequential(*(_ViTBlock(embed_dim, num_heads, mlp_ratio)
                                      for _ in range(depth)))
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(images).flatten(1, 2)  # (B, L, C)
        if x.shape[1] != self.pos_embed.shape[1]:
            raise ValueError(f"images give {x.shape[1]} tokens; this TinyViT was built for "
                             f"{self.pos_embed.shape[1]}")
        x = self.blocks(x + self.pos_embed)
        return self.head(self.norm(x).mean(dim=1))


class UnmaskedWindowAttention(WindowAttention):
    """Window attention that ignores the shifted-window mask it is handed (official issue
    #245's experiment): on the rolled map, tokens glued together from opposite edges attend
    to each other, as if the image were a torus."""

    def forward(self, windows: torch.Tensor, mask: torch.Tensor | None = None,
                fused: bool = True) -> torch.Tensor:
        return super().forward(windows, None, fused)


POSITIONS = ("relative", "absolute", "both", "none")


def tiny_swin(img_size: int = 8, patch_size: int = 1, in_chans: int = 1, num_classes: int = 10,
              embed_dim: int = 32, depths: tuple[int, ...] = (2, 2),
              num_heads: tuple[int, ...] = (2, 4), window_size: int = 4, mlp_ratio: float = 2.0,
              shift: bool = True, position: str = "relative", mask: bool = True
              ) -> SwinTransformer:
    """A small :class:`SwinTransformer` with the switches of the paper's Table 4.

    Args:
        shift: ``False`` makes every block W-MSA (the paper's "w/o shifting").
        position: ``"relative"`` (the paper's default: relative position bias),
            ``"absolute"`` (ViT's learned absolute embedding, no relative bias), ``"both"``,
            ``"none"``. Without relative bias the tables are zeroed and frozen.
        mask: ``False`` drops the shifted-window mask (SW-MSA on a torus, issue #245).
    Returns:
        The model; no stochastic depth, no dropout.
    """
    check_bool("shift", shift)
    check_bool("mask", mask)
    if position not in POSITIONS:
        raise ValueError(f"position={position!r}; expected one of {POSITIONS}")
    model = SwinTransformer(img_size=img_size, patch_size=patch_size, in_chans=in_chans,
                            num_classes=num_classes, embed_dim=embed_dim, depths=depths,
                            num_heads=num_heads, window_size=window_size, mlp_ratio=mlp_ratio,
                            drop_path_rate=0.0, ape=position in ("absolute", "both"))
    for layer in model.layers:
        for block in layer.blocks:
            if not shift:
                block.shift_size = 0
            if position in ("absolute", "none"):
                table = block.attn.relative_position_bias_table
                table.requires_grad_(False)
                table.zero_()
            if not mask:
                block.attn.__class__ = UnmaskedWindowAttention  # same weights, mask ignored
    return model


@dataclass
class History:
    """Per-epoch record of one run: mean training loss and test accuracy (after the last
    epoch only, when trained with ``curve=False``)."""

    train_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)

    @property
    def final_acc(self) -> float:
        return self.test_acc[-1]


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 512) -> float:
    """Fraction of ``x`` classified as ``y``, in eval mode, without gradients."""
    check_module("model", model)
    check_positive("batch", batch)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x has {len(x)} images and y {len(y)} labels; expected the same "
                         f"number, at least 1")
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(x[i:i + batch]).argmax(1)
                                 for i in range(0, len(x), batch)])
    return (predictions == y).float().mean().item()


def train(model: nn.Module, data: Split, epochs: int = 10, batch_size: int = 32,
          lr: float = 3e-3, weight_decay: float = 0.05, seed: int = 0,
          progress: Callable | None = None, curve: bool = True) -> History:
    """AdamW with a one-cycle schedule; the shuffling comes from a generator seeded by ``seed``.

    Args:
        progress: wraps the epoch range (e.g. ``tqdm``), or ``None``.
        curve: measure the test accuracy after every epoch (a learning curve); ``False``
            measures it once, after the last epoch: the training is the same, and the
            skipped evaluations took a tenth to a third of the time of notebook 10's runs
            (1,000 test images, 10 epochs; measured on 2 cores, the spread is noise).
    Returns:
        The :class:`History`; the model is trained in place.
    """
    check_module("model", model)
    if not isinstance(data, Split):
        raise ArgumentTypeError(f"data={type(data).__name__} must be a Split (e.g. "
                                f"digits_split(), or Split(x_train, y_train, x_test, y_test))")
    check_positive("epochs", epochs)
    check_positive("batch_size", batch_size)
    check_real("lr", lr, low=0.0, low_open=True)
    check_real("weight_decay", weight_decay, low=0.0)
    check_int("seed", seed, low=0)
    check_bool("curve", curve)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-len(data.x_train) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, pct_start=0.1,
                                                   total_steps=steps)
    shuffle = torch.Generator().manual_seed(seed)
    history = History()
    epochs_range = range(epochs) if progress is None else progress(range(epochs))
    for epoch in epochs_range:
        model.train()
        order, total = torch.randperm(len(data.x_train), generator=shuffle), 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
        history.train_loss.append(total / len(order))
        if curve or epoch == epochs - 1:
            history.test_acc.append(accuracy(model, data.x_test, data.y_test))
    return history


def run_seeds(build: Callable[[], nn.Module], data: Split, seeds: Sequence[int] = (0, 1, 2),
              **train_kwargs) -> list[History]:
    """Build and train one model per seed (the seed sets the weights and the shuffling)."""
    if not isinstance(seeds, Sequence) or isinstance(seeds, str):
        raise ArgumentTypeError(f"seeds={seeds!r} must be a sequence of integers, e.g. (0, 1, 2)")
    if not callable(build):
        raise ArgumentTypeError(f"build={build!r} must be a function that returns a new model")
    seeds = [check_int("seeds[]", seed, low=0) for seed in seeds]
    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed, e.g. (0, 1, 2)")
    histories = []
    for seed in seeds:
        seed_everything(seed)
        histories.append(train(build(), data, seed=seed, **train_kwargs))
    return histories


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ArgumentTypeError(f"values={values!r} must be a sequence of numbers")
    values = [check_real("values[]", v) for v in values]
    if not values:
        raise ValueError("values is empty; mean_std needs at least one number")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0
