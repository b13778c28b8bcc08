"""Models, loaders and visual helpers of the deep-learning demo studio. No Streamlit in here.

Importing the package puts Hugging Face libraries in offline mode unless `STUDIO_ONLINE=1`, and
sends the studio's own log lines ("studio.*" loggers: model loads, batching) to stderr at INFO.
"""

import logging

from models.core.network import apply_network_mode

apply_network_mode()

_log = logging.getLogger("studio")
if not _log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    _log.addHandler(_handler)
    _log.setLevel(logging.INFO)
