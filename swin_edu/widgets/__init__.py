"""ipywidgets explorers built on ``swin_edu.viz``: drag a slider, see the real tensors change.

Every explorer shares one interface (see :class:`swin_edu.widgets._base.Explorer`):
put it last in a cell to display it; ``controls`` (name -> widget), ``set(**values)``
(synchronous redraw; checks every value first and applies all or nothing, raising a
``ValueError``/``TypeError`` that names the control, the value and the allowed range or
options; constructors take exactly the same values), ``state``, ``figure``, ``data``
(the arrays behind the image), ``message`` (``""`` or the ``ValueError`` text explaining
why the current state is invalid, shown instead of a traceback), ``readout``
(``ipywidgets.HTML``), ``image`` (``ipywidgets.Image``, PNG).

Stable CSS classes for browser tests: ``swin-edu-<slug>`` on the container,
``swin-edu-<slug>-image`` / ``-readout`` / ``-message``, and ``swin-edu-<slug>-<control>``
on each control (underscores become dashes, names lower-cased), with slugs
``mask`` (MaskExplorer: ``h``, ``w``, ``window-size``, ``shift-size``, ``window``, ``query``),
``relpos`` (RelativePositionExplorer: ``window-size``, ``query``),
``complexity`` (ComplexityExplorer: ``h``, ``w``, ``c``, ``m``),
``merging`` (PatchMergingExplorer: ``h``, ``w``, ``token``),
``shapes`` (ShapeTracer: ``variant``, ``image-size``),
``cpb`` (CpbExplorer: ``window-size``, ``pretrained-window-size``).
While the state is invalid the image keeps the last valid picture and carries the extra
class ``swin-edu-stale``.
"""

from swin_edu.widgets.architecture import ShapeTracer
from swin_edu.widgets.complexity import ComplexityExplorer
from swin_edu.widgets.masks import MaskExplorer
from swin_edu.widgets.patches import PatchMergingExplorer
from swin_edu.widgets.relative_position import RelativePositionExplorer
from swin_edu.widgets.v2 import CpbExplorer

__all__ = ["MaskExplorer", "RelativePositionExplorer", "ComplexityExplorer",
           "PatchMergingExplorer", "ShapeTracer", "CpbExplorer"]
