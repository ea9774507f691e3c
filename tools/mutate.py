"""Mutation testing on a time budget: `make mutate` runs the app's targets, `make mutate MUTATE=all` every one.

mutmut (https://github.com/boxed/mutmut) changes one thing at a time in the code under test (an operator, a
constant, a string, an argument) and reruns the tests that called the changed function; a mutant that no test
notices *survives*, and points at a missing or too loose assertion. A target pairs some code with the fast
tests that pin it, so that a target takes minutes (the app's, 14 on one busy core):

    python tools/mutate.py                  # all targets, the survivors listed at the end
    python tools/mutate.py app --diff       # one target, with each survivor's diff
    python tools/mutate.py --list           # the targets, their code and their tests

mutmut first runs the target's tests once to learn which tests call which function, then runs each mutant
against those tests only. Each target runs in a fresh folder build/mutmut/<target>/ holding a copy of the
working tree's package and tests and a generated [tool.mutmut] config, so targets never share a cache and the
repository is never touched. A target stops at its time budget (the mutants not reached are reported as not
checked). Exit status 1 when, in a target marked `gate` (the app's code), a mutant survives that its
`equivalent` list does not explain, an explanation no longer matches its mutant, or the run did not finish;
else 0.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutmut"
# Lines left alone: the wording of error messages and logs (a raise line, or a string continuing one), where a
# mutant only changes text. The conditions that decide whether to raise are still mutated.
UNMUTATED_LINES = (r"^\s*raise ", r"^\s*f?\"", r"^\s*logger\.")
ALSO_COPY = ("README.md", "results", "examples")
# pytest plugins that cost a second per mutant and check nothing here (unraisableexception's gc.collect passes
# over torch's heap take most of it); xdist and the cache are off in the forked workers anyway.
PYTEST_ARGS = ("-p", "no:xdist", "-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:threadexception")
PYTEST_ARGS += ("-p", "no:benchmark")
STATUS = {0: "survived", 1: "killed", 3: "killed", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout"}
STATUS.update({24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", 37: "type check"})


@dataclass(frozen=True)
class Equivalent:
    """A surviving mutant no test can tell from the code: its name, the text its changed line holds, and why.

    The run checks the text against `mutmut show`, so an explanation goes stale (and the gate fails) when the
    function changes and mutmut's numbering moves.
    """

    mutant: str
    change: str
    why: str


@dataclass(frozen=True)
class Target:
    """Code to mutate (files; optionally only some functions) and the tests that must notice every change.

    files: globs of files under tinygrad_n2n/. functions: globs of mutmut's function names within them
    ('x_psnr' for a function, 'xǁNoiseǁapply' for a method); empty: every function. tests: test files.
    skip: substrings of slow test names left out (`pytest -k`). budget: seconds before the run stops.
    equivalent: the survivors explained (mutant names without the 'tinygrad_n2n.n2n.' prefix of the app's).
    """

    files: tuple[str, ...]
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    budget: int = 300
    gate: bool = False
    equivalent: tuple[Equivalent, ...] = ()


N2N = "tinygrad_n2n/n2n/"
# Tests that train or generate thousands of pairs (seconds each, for every mutant they cover), and whose numbers the
# fast tests pin anyway.
SLOW_APP_TESTS = ("short_training", "twenty_thousand", "512_by_512", "ctrl_c", "resume", "large_image")
TARGETS: dict[str, Target] = {
    # The denoiser's numbers: PSNR, NL-means, noise, patches, predict's batching, padding, cropping and scaling.
    "app": Target(
        files=tuple(N2N + name for name in ("metrics.py", "data.py", "inference.py", "tiling.py", "model.py")),
        functions=(
            "metrics.x_*",
            "data.xǁNoiseǁ*",
            "data.x_add_noise",
            "data.x_random_patches",
            "data.x_make_pairs",
            "data.x_default_*",
            "inference.x_to_unit",
            "inference.x_denoise_batches",
            "tiling.x_run_padded",
            "model.xǁModelǁpredict",
        ),
        tests=("tests/test_app_numbers.py", "tests/test_n2n_data.py", "tests/test_n2n_model.py"),
        skip=SLOW_APP_TESTS,
        budget=1200,  # 790-842 s measured (one worker, busy machine): room for a slower one
        gate=True,
        equivalent=(
            Equivalent(
                "inference.x_to_unit__mutmut_7",
                "dtype=dtype, )",
                "non_blocking=True dropped: it only lets a copy to a GPU overlap; on the CPU, and in values, no change",
            ),
            Equivalent(
                "inference.x_to_unit__mutmut_8",
                "non_blocking=False",
                "as above: a blocking copy gives the same values",
            ),
            Equivalent(
                "data.x_add_noise__mutmut_17",
                ".round_().to(None)",
                "the rounded values in [0, 255] are stored into the uint8 `out` either way, so the cast happens anyway",
            ),
            Equivalent(
                "data.x_random_patches__mutmut_13",
                "torch.randint(len(images), (count,)",
                "torch.randint(high, size) is torch.randint(0, high, size): the same draws",
            ),
            Equivalent("data.x_random_patches__mutmut_45", "torch.randint(image.shape[1] - size + 1,", "as above"),
            Equivalent("data.x_random_patches__mutmut_59", "torch.randint(image.shape[2] - size + 1,", "as above"),
            Equivalent(
                "metrics.x_nl_means__mutmut_39",
                "patch_distance=6, channel_axis=-1",
                "fast_mode=True dropped: it is scikit-image's default (written out for the reader)",
            ),
            Equivalent(
                "model.xǁModelǁpredict__mutmut_8",
                ".to(None)",
                "the result stays on the CPU instead of moving to the input's device: the same on a machine without a"
                " GPU; test_predict_returns_on_the_device_of_its_input kills it where CUDA is present",
            ),
            Equivalent(
                "tiling.x_run_padded__mutmut_2",
                "x.shape[+2:]",
                "x is always (N, 3, H, W), so shape[2:] and shape[-2:] are the same (H, W)",
            ),
        ),
    ),
    # The files the app reads: model files and checkpoints (checked on the way in and out), the course's .pkl files.
    "app_files": Target(
        files=(N2N + "model_file.py", N2N + "data.py"),
        functions=("model_file.x_*", "data.x__load_pair", "data.x_course_data"),
        tests=("tests/test_app_safety.py", "tests/test_n2n_data.py"),
        skip=SLOW_APP_TESTS,
        gate=True,
    ),
    "serialization": Target(files=("tinygrad_n2n/serialization.py",), tests=("tests/test_checkpoint.py",)),
    "tape": Target(files=("tinygrad_n2n/tape.py",), tests=("tests/test_tape.py", "tests/test_grad_modes.py")),
    "optim": Target(
        files=("tinygrad_n2n/optim/*.py",),
        exclude=("tinygrad_n2n/optim/lr_scheduler/*",),
        tests=("tests/test_optim.py", "tests/test_optim_parity.py"),
        budget=420,
    ),
    "lr_scheduler": Target(
        files=("tinygrad_n2n/optim/lr_scheduler/*.py",), tests=("tests/test_optim_lr_scheduler.py",), budget=300
    ),
}


def config_toml(target: Target, tests: list[str], debug: bool = False) -> str:
    """The work folder's pyproject.toml: the project's own, and this target's [tool.mutmut] section."""
    selection = list(tests)
    if target.skip:
        selection += ["-k", " and ".join(f"not {name}" for name in target.skip)]
    mutmut = {
        "source_paths": ["tinygrad_n2n"],
        "only_mutate": list(target.files),
        "do_not_mutate": list(target.exclude),
        "do_not_mutate_patterns": list(UNMUTATED_LINES),
        "pytest_add_cli_args_test_selection": selection,
        "pytest_add_cli_args": list(PYTEST_ARGS),
        "process_isolation": "forkserver",  # torch's thread pools are not fork-safe after a test run
        "use_git_change_detection": False,
        "also_copy": list(ALSO_COPY),
        "debug": debug,
    }
    section = "\n".join(["[tool.mutmut]", *(f"{key} = {json.dumps(value)}" for key, value in mutmut.items())])
    return (ROOT / "pyproject.toml").read_text() + "\n" + section + "\n"


def prepare(name: str, target: Target, tests_from: Path, debug: bool = False) -> Path:
    """A fresh build/mutmut/<name>/ with copies of tinygrad_n2n/ and `tests_from` (as tests/) and the config."""
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    shutil.copytree(ROOT / "tinygrad_n2n", folder / "tinygrad_n2n", ignore=ignore)
    shutil.copytree(tests_from, folder / "tests", ignore=ignore)
    for name in ALSO_COPY:  # files some tests read
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, folder / name)
    tests = [test for test in target.tests if (folder / test).is_file()]
    (folder / "pyproject.toml").write_text(config_toml(target, tests, debug))
    return folder


def mutant_globs(target: Target) -> list[str]:
    """mutmut's names for the selected functions' mutants: 'tinygrad_n2n.n2n.metrics.x_psnr__mutmut_*'."""
    modules = {
        path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        for pattern in target.files
        for path in ROOT.glob(pattern)
    }
    if not target.functions:
        return []
    return [
        f"{module}.{function.split('.', 1)[1]}__mutmut_*"
        for function in target.functions
        for module in sorted(modules)
        if module.endswith("." + function.split(".", 1)[0])
    ]


def run_mutmut(folder: Path, target: Target, workers: int = 1) -> tuple[bool, float]:
    """Run `mutmut run` with `workers` test processes in `folder` until done or out of budget -> (finished, s)."""
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(workers), *mutant_globs(target)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    with (folder / "mutmut.log").open("w") as log:
        process = subprocess.Popen(
            command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True
        )
        try:
            process.wait(timeout=target.budget)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
    return process.returncode == 0, time.monotonic() - started


def results(folder: Path, target: Target) -> dict[str, str]:
    """Every selected mutant's status, from mutmut's .meta files: {mutant name: 'killed' | 'survived' | ...}."""
    globs = mutant_globs(target)
    found: dict[str, str] = {}
    for meta in sorted((folder / "mutants").rglob("*.py.meta")):
        for mutant, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if not globs or any(fnmatch.fnmatchcase(mutant, pattern) for pattern in globs):
                found[mutant] = STATUS.get(code, "not checked" if code is None else "suspicious")
    return found


def explain(folder: Path, target: Target, statuses: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Mark the target's explained survivors 'equivalent' in `statuses` -> ({mutant: why}, [stale explanations])."""
    explained, stale = {}, []
    for entry in target.equivalent:
        names = [mutant for mutant in statuses if mutant.endswith("." + entry.mutant)]
        if not names or statuses[names[0]] == "not checked":
            continue
        changed = [
            line for line in diff(folder, names[0]).splitlines() if line.startswith("+") and not line.startswith("+++")
        ]
        if statuses[names[0]] != "survived" or not any(entry.change in line for line in changed):
            stale.append(f"{entry.mutant} ({entry.change!r}) is now {statuses[names[0]]}: {' '.join(changed)}")
            continue
        statuses[names[0]], explained[names[0]] = "equivalent", entry.why
    return explained, stale


def diff(folder: Path, mutant: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mutmut", "show", mutant], cwd=folder, capture_output=True, text=True)
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help=f"some of {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--diff", action="store_true", help="print each surviving mutant's diff")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--budget", type=int, help="seconds per target, instead of each target's own")
    parser.add_argument(
        "--workers", type=int, default=1, help="test processes at once (default 1: the tests share the machine)"
    )
    parser.add_argument("--debug", action="store_true", help="mutmut's debug output in the log (e.g. a failing test)")
    parser.add_argument(
        "--tests-from", type=Path, default=ROOT / "tests", help="another copy of tests/ (to compare test suites)"
    )
    args = parser.parse_args(argv)
    if unknown := [name for name in args.targets if name not in TARGETS]:
        parser.error(f"unknown target {', '.join(unknown)}: choose from {', '.join(TARGETS)}")
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name}: {' '.join(target.files)} {' '.join(target.functions)}\n    tests: {' '.join(target.tests)}")
        return 0
    failed = False
    for name in args.targets or list(TARGETS):
        target = TARGETS[name]
        if args.budget:
            target = Target(**{**target.__dict__, "budget": args.budget})
        folder = prepare(name, target, args.tests_from, args.debug)
        finished, seconds = run_mutmut(folder, target, args.workers)
        statuses = results(folder, target)
        note = "" if finished else f" (stopped at the {target.budget} s budget or failed: see {folder}/mutmut.log"
        note += "; --debug logs why)" if note else ""
        explained, stale = explain(folder, target, statuses)
        counts = {status: list(statuses.values()).count(status) for status in sorted(set(statuses.values()))}
        print(f"{name}: {len(statuses)} mutants in {seconds:.0f} s{note}: {counts}")
        for mutant, status in statuses.items():
            if status in ("survived", "no tests", "timeout", "suspicious", "equivalent"):
                print(f"    {status:10s} {mutant}" + (f": {explained[mutant]}" if mutant in explained else ""))
                if args.diff and status != "equivalent":
                    print("        " + diff(folder, mutant).strip().replace("\n", "\n        "))
        for line in stale:
            print(f"    stale explanation: {line}")
        failed |= target.gate and ("survived" in counts or "no tests" in counts or not finished or bool(stale))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
