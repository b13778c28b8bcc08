"""`python -m bench [name ...]`: run the benchmarks, print a table each, write bench/results/<name>.json.

Every module bench/<name>.py defines `run() -> dict[str, object]`: figure name -> value.
`python -m bench scale` compares one server with the Ray Serve topology of `make serve-cluster` (bench/scale.py).
`python -m bench segmentation_instances` times the Mask R-CNN stage by stage on one thread
(bench/segmentation_instances.py).
"""

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

import bench
from models.core.device import environment_report

RESULTS = Path(__file__).parent / "results"


def main(names: list[str]) -> None:
    names = names or sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    RESULTS.mkdir(exist_ok=True)
    for name in names:
        started = time.perf_counter()
        figures = importlib.import_module(f"bench.{name}").run()
        record = {
            "benchmark": name,
            "environment": environment_report(),
            "seconds": time.perf_counter() - started,
            **figures,
        }
        (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2, default=str))
        print(f"\n== {name} ({record['seconds']:.0f} s) ==")
        width = max(map(len, figures), default=0)
        for key, value in figures.items():
            shown = f"{value:,.3f}" if isinstance(value, float) else value
            print(f"  {key:<{width}}  {shown}")
    print(f"\nJSON written to {RESULTS}/")


if __name__ == "__main__":
    main(sys.argv[1:])
