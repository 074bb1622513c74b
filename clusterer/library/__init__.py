"""Many videos, one cast: a library that links the people of many videos.

    from clusterer.library import add, relink, remove
    ran, kept, data = add("LIB", ["ep1.mp4", "ep2.mp4"])

store.py (library.json, units, people folders), link.py (linking by face),
index.py (faiss), executor.py (serial or Ray), ops.py (the operations),
evaluate.py (library-level scores), gallery.py (LIB/index.html).
"""
from .ops import add, relink, remove  # noqa: F401

__all__ = ["add", "relink", "remove"]
