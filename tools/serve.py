"""`make run`'s entry point: `streamlit run app.py` that starts warming the default models the
moment the server starts (with STUDIO_WARMUP=1), not when the first visitor opens a page.

    python tools/serve.py --server.port 8501     # any `streamlit run` options
"""

import os
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from streamlit.web import cli  # noqa: E402


def warm_up() -> None:
    # Imported here, off the main thread, so the server binds its port without waiting for torch.
    from models.device import use_app_thread_policy
    from models.registry import get_registry

    use_app_thread_policy()
    get_registry().warm_in_background()  # the same process-wide registry app.py uses


if __name__ == "__main__":
    if os.environ.get("STUDIO_WARMUP", "0") == "1":
        threading.Thread(target=warm_up, name="start-warmup", daemon=True).start()
    sys.argv = ["streamlit", "run", str(REPO / "app.py"), *sys.argv[1:]]
    sys.exit(cli.main())
