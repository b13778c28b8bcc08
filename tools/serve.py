"""`make run`'s entry point: `streamlit run app.py` that starts warming the default models the
moment the server starts (with STUDIO_WARMUP=1), not when the first visitor opens a page.

    python tools/serve.py --server.port 8501     # any `streamlit run` options
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from streamlit.web import cli  # noqa: E402

if __name__ == "__main__":
    if os.environ.get("STUDIO_WARMUP", "0") == "1":
        # Off the main thread (the server binds its port at once), the same preparation app.py starts.
        from models.core.startup import prepare_in_background

        prepare_in_background(warm=True)
    sys.argv = ["streamlit", "run", str(REPO / "app.py"), *sys.argv[1:]]
    sys.exit(cli.main())
