"""The live class-visualization explorer (ipywidgets): ``from tpviz.widgets import explorer``."""

from .live import Explorer, explorer
from .view import View, png

__all__ = ["Explorer", "View", "explorer", "png"]
