"""Online or offline: Hugging Face libraries stay off the network unless `STUDIO_ONLINE=1`. Light to import
(no torch), so that importing the `models` package costs nothing before a page needs a model."""

import os

ONLINE_ENV = "STUDIO_ONLINE"


def is_online() -> bool:
    """Online mode lets hub ids download. Off unless `STUDIO_ONLINE` is 1/true/yes."""
    return os.environ.get(ONLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def apply_network_mode() -> None:
    """Keep huggingface_hub and transformers off the network unless online mode is on."""
    value = "0" if is_online() else "1"
    os.environ["HF_HUB_OFFLINE"] = value
    os.environ["TRANSFORMERS_OFFLINE"] = value
