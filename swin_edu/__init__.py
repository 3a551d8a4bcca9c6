"""swin_edu: the Swin Transformer, built piece by piece for the swin-edu course.

One module per concept, in course order:
``patches`` (patch partition, embedding, merging), ``windows`` (partition/reverse, cyclic
shift, padding), ``relative_position`` (index and bias), ``masks`` (region labels and the
shifted-window mask), ``attention`` (window attention), ``model`` (block, stage, network),
``convert`` (Hugging Face and official checkpoints), ``complexity`` (formulas and counts),
``receptive_field`` (which input pixels a token depends on, stage by stage); then ``v2``
(Swin Transformer V2) and ``backbone`` (the four-map detection backbone).
"""

__version__ = "0.1.0"

# The memory guard's limit (see swin_edu.memory): swin_edu.set_memory_limit("8GiB").
from swin_edu.memory import memory_limit, set_memory_limit, using_memory_limit  # noqa: E402

__all__ = ["__version__", "memory_limit", "set_memory_limit", "using_memory_limit"]
