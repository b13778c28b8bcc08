"""What every technique shares, and nothing technique-specific.

`specs.py` (ModelSpec, Source, the task and loader types: the bottom of the import graph),
`registry.py` (every model, its source in order local -> embedded -> hub, one loaded copy per process,
the techniques' pipeline wrappers), `device.py` (the device and precision policy), `loaders.py`
(transformers and gensim models users add), `batching.py` (micro-batching across sessions),
`errors.py`, `paths.py`, `network.py` (offline by default), `startup.py` (warm-up off the first page's
path), `text.py` and `images.py` (reading user input), `display.py` (presenter mode and palettes).
"""
