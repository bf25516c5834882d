"""The floors of docs/architecture.md, checked on the source: every import of a cnnlab module goes to its own floor
or one below, and no modules import each other in a circle."""

import ast

from conftest import ROOT

PACKAGE = ROOT / "src" / "cnnlab"
# The floor of each top-level module or package of cnnlab (docs/architecture.md draws them); a command module
# (cli.py of any package, tools_cli.py) is on the top floor wherever it lies.
FLOORS = {"errors": 0, "atomic": 0, "clikit": 0, "plots": 0, "environment": 0, "prediction": 0,
          "page": 0,
          "data": 1, "models": 1,
          "engine": 2,
          "export": 3, "runs": 3, "kerasfile": 3, "soup": 3,
          "theory": 4, "live": 4, "report": 4, "experiments": 4, "distill": 4, "photo": 4, "visualize": 4,
          "shipped": 4,
          "handin": 5, "notebook_helpers": 5, "cli": 5, "tools_cli": 5, "__main__": 5, "__init__": 5}
# Imports that still run upwards, each with the part of issue 23 that removes it.
UPWARDS: dict[tuple[str, str], str] = {}  # (importer, imported): why; empty, as it should stay


def modules() -> dict[str, object]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts).removesuffix(".__init__")] = path
    return found


def imports() -> dict[str, set[str]]:
    """{module: the cnnlab modules it imports (at the top or inside a function)}."""
    found = modules()
    edges = {name: set() for name in found}
    for name, path in found.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cnnlab"):
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for target in targets:
                while target not in found and "." in target:
                    target = target.rpartition(".")[0]
                if target in found and target != name and not name.startswith(target + "."):
                    edges[name].add(target)
    return edges


def floor(module: str) -> int:
    parts = module.split(".")
    if parts[-1] in ("cli", "tools_cli", "__main__"):
        return 5
    return FLOORS[parts[1] if len(parts) > 1 else "__init__"]


def test_every_module_has_a_floor_and_imports_only_its_floor_or_below():
    upwards = {}
    for module, targets in imports().items():
        for target in targets:
            if floor(target) > floor(module):
                upwards[(module, target)] = f"floor {floor(module)} imports floor {floor(target)}"
    assert upwards.keys() == UPWARDS.keys(), upwards


def test_the_engine_draws_with_the_ground_floor_and_the_hand_in_builder_has_no_circle():
    edges = imports()
    assert not any(t.startswith("cnnlab.report") for m, ts in edges.items() if m.startswith("cnnlab.engine")
                   for t in ts)
    assert "cnnlab.handin.build" not in edges["cnnlab.handin.index"]


def test_no_modules_import_each_other_in_a_circle():
    edges = imports()
    circles = []
    for start in edges:  # a path from a module's import back to the module
        seen, todo = set(), list(edges[start])
        while todo:
            module = todo.pop()
            if module == start:
                circles.append(start)
                break
            if module not in seen:
                seen.add(module)
                todo += edges[module]
    assert sorted(circles) == sorted({m for pair in UPWARDS for m in pair}), circles


BENCHMARK_KINDS = ("speed", "calibration", "ablation", "peers")


def test_a_benchmark_imports_the_shared_helpers_never_another_benchmark():
    """docs/architecture.md: a benchmark takes what it shares from the modules at the root of benchmarks/
    (common.py, faces.py, fer_scoring.py), never from a benchmark of speed/, calibration/, ablation/ or peers/."""
    found = []
    for path in (ROOT / "benchmarks").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            found += [(path.relative_to(ROOT).as_posix(), n) for n in names
                      if n.split(".")[:2] in [["benchmarks", kind] for kind in BENCHMARK_KINDS] and n.count(".") > 1]
    assert not found, found
