"""The memory guard (swin_edu.memory): the limit, where it comes from, and refusals that come
before any allocation; the forward pass's estimate measured against the process's memory."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import pytest
import torch

import swin_edu
from swin_edu import memory
from swin_edu._checks import check_memory
from swin_edu.attention import WindowAttention
from swin_edu.model import Mlp, SwinTransformer, SwinTransformerBlock
from swin_edu.patches import PatchEmbed, PatchMerging
from swin_edu.relative_position import RelativePositionBias
from swin_edu.windows import pad_to_window

GiB, MiB = 1024 ** 3, 1024 ** 2


@pytest.fixture(autouse=True)
def _no_limit_set(monkeypatch):
    """Every test starts from the device default: no variable, nothing set."""
    monkeypatch.delenv(memory.ENV_VAR, raising=False)
    previous = memory.set_memory_limit(None)
    yield
    memory.set_memory_limit(previous)


@pytest.mark.parametrize("text, nbytes", [
    ("8GiB", 8 * GiB), ("512MiB", 512 * MiB), ("2GB", 2 * 10 ** 9), ("1000", 1000),
    (1000, 1000), (" 1.5 g ", int(1.5 * GiB)), ("64kib", 64 * 1024), ("3TB", 3 * 10 ** 12),
    ("10B", 10), ("2M", 2 * MiB),
])
def test_parse_memory_size(text, nbytes):
    assert memory.parse_memory_size(text) == nbytes


@pytest.mark.parametrize("bad", ["8 gigs", "", "-1", "0", "GiB", "1e9", "8GiBs", 0, -5, True,
                                 1.5, None, [8]])
def test_parse_memory_size_refuses_with_the_name(bad):
    with pytest.raises(ValueError, match=r"^limit=.* is not a memory size; expected"):
        memory.parse_memory_size(bad)


def test_environment_variable(monkeypatch):
    monkeypatch.setenv(memory.ENV_VAR, "3GiB")
    assert memory.memory_limit() == 3 * GiB == swin_edu.memory_limit()
    assert "SWIN_EDU_MEMORY_LIMIT='3GiB'" in memory.memory_limit_source()
    monkeypatch.setenv(memory.ENV_VAR, "12345")
    assert memory.memory_limit() == 12345  # read at every check


def test_bad_environment_variable_names_it(monkeypatch):
    monkeypatch.setenv(memory.ENV_VAR, "lots")
    with pytest.raises(ValueError, match=r"SWIN_EDU_MEMORY_LIMIT='lots' is not a memory size"):
        memory.memory_limit()
    with pytest.raises(ValueError, match="SWIN_EDU_MEMORY_LIMIT"):
        check_memory("anything", 1)


def test_function_beats_the_variable_and_none_clears_it(monkeypatch):
    monkeypatch.setenv(memory.ENV_VAR, "3GiB")
    assert swin_edu.set_memory_limit("1GiB") is None
    assert memory.memory_limit() == GiB
    assert memory.memory_limit_source() == "set by swin_edu.set_memory_limit"
    assert swin_edu.set_memory_limit(2048) == GiB  # the previous setting comes back
    assert memory.memory_limit() == 2048
    swin_edu.set_memory_limit(None)
    assert memory.memory_limit() == 3 * GiB
    with pytest.raises(ValueError, match="limit="):
        swin_edu.set_memory_limit("much")
    assert memory.memory_limit() == 3 * GiB  # a refused value changes nothing


def test_using_memory_limit_restores():
    with swin_edu.using_memory_limit("1MiB"):
        assert memory.memory_limit() == MiB
        with pytest.raises(ValueError, match="limit of 0.0 GiB"):
            check_memory("two mebibytes", 2 * MiB)
    assert memory._set_limit is None


def test_cpu_default_is_the_available_ram():
    limit = memory.memory_limit("cpu")
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert MiB < limit <= total
    assert "RAM" in memory.memory_limit_source("cpu")


def test_cpu_default_reads_memavailable(monkeypatch):
    meminfo = "MemTotal:       16000000 kB\nMemFree:  1000 kB\nMemAvailable:    2097152 kB\n"
    monkeypatch.setattr(memory, "open", lambda *a, **k: io.StringIO(meminfo), raising=False)
    assert memory.available_ram() == (2 * GiB, "the available RAM (MemAvailable in "
                                               "/proc/meminfo)")
    assert memory.memory_limit("cpu") == 2 * GiB


def test_cpu_default_without_proc_falls_back_to_sysconf(monkeypatch):
    def no_proc(*args, **kwargs):
        raise OSError("no /proc here")
    monkeypatch.setattr(memory, "open", no_proc, raising=False)
    nbytes, source = memory.available_ram()
    assert nbytes > MiB and "os.sysconf" in source


def test_cuda_default_is_the_free_device_memory(monkeypatch):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: (5 * GiB, 80 * GiB))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda i: 3 * GiB)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda i: 2 * GiB)
    assert memory.memory_limit("cuda:1") == 6 * GiB  # free + cached by PyTorch, unused
    assert "cuda:1" in memory.memory_limit_source("cuda:1")
    with pytest.raises(ValueError, match=r"limit of 6\.0 GiB .*free memory of cuda:1"):
        check_memory("seven gibibytes", 7 * GiB, device=torch.device("cuda", 1))


def test_meta_tensors_have_no_limit():
    check_memory("a petabyte of shapes", 2 ** 50, device="meta")


def test_small_requests_skip_the_device_but_not_an_explicit_limit(monkeypatch):
    def unreadable(device=None):
        raise AssertionError("the device was read for a small request")
    monkeypatch.setattr(memory, "device_free_bytes", unreadable)
    check_memory("a small mask", memory.SMALL_REQUEST_BYTES - 1)
    with swin_edu.using_memory_limit(100):
        with pytest.raises(ValueError):
            check_memory("a small mask", 101)


def test_refusal_message_says_what_the_limit_where_from_and_how_to_raise(monkeypatch):
    monkeypatch.setenv(memory.ENV_VAR, "2GiB")
    with pytest.raises(ValueError) as error:
        check_memory("the thing asked for", 3 * GiB)
    message = str(error.value)
    for part in ("the thing asked for would need 3.0 GiB (3,221,225,472 bytes)",
                 "limit of 2.0 GiB (2,147,483,648 bytes)",
                 "from the environment variable SWIN_EDU_MEMORY_LIMIT='2GiB'",
                 "SWIN_EDU_MEMORY_LIMIT=16GiB", "swin_edu.set_memory_limit('16GiB')"):
        assert part in message, message


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# Measured before the guards (2026-12-04): RelativePositionBias(20000, 1) 46 s and 9.4 GB;
# WindowAttention(8, 20000, 1) 6 GB before its refusal; SwinTransformer(num_classes=10**9)
# 96 GB. Sizes beyond any machine's memory, so the device default refuses them too.
REFUSED = [
    ("RelativePositionBias", lambda: RelativePositionBias(20000, 1)),
    ("WindowAttention", lambda: WindowAttention(8, 20000, 1)),
    ("pad_to_window", lambda: pad_to_window(torch.zeros(1, 10, 10, 64), 600_000)),
    ("SwinTransformer", lambda: SwinTransformer(num_classes=10 ** 9)),
    ("SwinTransformerBlock", lambda: SwinTransformerBlock(10 ** 7, 1)),
    ("PatchEmbed", lambda: PatchEmbed(10 ** 6)),
    ("PatchMerging", lambda: PatchMerging(10 ** 7)),
    ("Mlp", lambda: Mlp(10 ** 7, 4 * 10 ** 7)),
    ("forward", lambda: SwinTransformer(img_size=32, embed_dim=8, depths=(2,), num_heads=(1,),
                                        window_size=2)(
        torch.zeros(1, 1, 1, 1).expand(64, 3, 200_000, 200_000))),
]


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
@pytest.mark.parametrize("name, build", REFUSED, ids=[name for name, _ in REFUSED])
def test_huge_requests_refused_fast_without_allocating(name, build):
    before, start = _rss(), time.perf_counter()
    with pytest.raises(ValueError, match="would need .* GiB .*the available RAM"):
        build()
    assert time.perf_counter() - start < 1.0
    assert _rss() - before < 64 * MiB


def test_global_attention_estimate_follows_the_kernel():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from swin_edu.attention import global_attention_bytes
    x = torch.zeros(1, 1, 1).expand(2, 10_000, 64)
    fused = global_attention_bytes(x, 4)
    assert fused == 8 * 2 * 10_000 * 64 * 4  # no L x L matrix: flash attention on the CPU
    with sdpa_kernel(SDPBackend.MATH):
        assert global_attention_bytes(x, 4) == fused + 2 * 2 * 4 * 10_000 ** 2 * 4


# The forward pass's estimate against the resident memory it adds, in a fresh process (torch's
# CPU allocations are invisible to tracemalloc). Measured 2026-12-04, Swin-T, one thread:
# inference 256: 29 MiB (estimate 26), 512: 91 (97), 1024: 484 (369), 1536: 656 (817);
# with gradients 128: 53 (50), 256: 186 (168), 512: 643 (604). The old largest-tensor figure
# was 4-25x low (24 MiB at 512).
_MEASURE = r"""
import json, os, sys
import torch
from swin_edu.complexity import forward_memory_bytes
from swin_edu.model import swin_t
torch.manual_seed(0)
size, grad = int(sys.argv[1]), sys.argv[2] == "1"
model = swin_t(num_classes=10)
images = torch.randn(1, 3, size, size)
with torch.no_grad():
    model(torch.randn(1, 3, 64, 64))  # warm up: kernels, thread pools
def resident(field):
    with open("/proc/self/status") as status:
        line = next(l for l in status if l.startswith(field))
    return int(line.split()[1]) * 1024
# The peak of the forward alone: reset the high-water mark (Linux clear_refs 5), since building
# the model may have peaked higher than anything the forward does.
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
before = resident("VmRSS:")
with torch.set_grad_enabled(grad):
    out = model(images)
peak = resident("VmHWM:")
print(json.dumps([peak - before, forward_memory_bytes(model, 1, size, size, grad=grad)]))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss in KiB: Linux")
@pytest.mark.parametrize("size, grad", [(256, False), (512, False), (256, True)])
def test_forward_estimate_within_2x_of_the_measured_peak(size, grad):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop(memory.ENV_VAR, None)
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(size), str(int(grad))],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    measured, estimated = json.loads(result.stdout.strip().splitlines()[-1])
    assert 0.5 <= estimated / measured <= 2, (size, grad, measured / MiB, estimated / MiB)
