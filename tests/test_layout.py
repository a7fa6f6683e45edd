"""The layout of the package, read from its source with ``ast``: each concern has one home.

- every import between two rooms (a subpackage, or a top-level module) goes down the floors
  below, never up and never sideways, so that no two rooms import each other;
- no module imports itself back through others;
- no name with a leading underscore is imported from another room: what rooms share is a
  name without one (in a private module, as scikit-learn's ``utils._param_validation``);
- no module over 500 lines, no function over 60 lines outside its docstring (an estimator's
  ``__init__``, one explicit keyword per parameter as scikit-learn requires, aside).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_xmh"

# The floors, lowest first. A room imports only rooms of lower floors.
FLOORS = [
    {"utils"},
    {"_hamming"},
    {"neighbors", "datasets"},
    {"metrics"},
    {"nn"},
    {"_encoders"},
    {"base"},
    {"baselines", "chn", "dbrc", "djsrh", "ugach"},
    {"inspection", "plotting", "benchmark"},
    {"cli"},
    {"sklearn_xmh"},
]
FLOOR = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        yield name, path, is_package


MODULES = {name: (path, is_package) for name, path, is_package in _modules()}


def _room(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports(name):
    """``(module imported, names imported from it, line)`` for every import of ``name``, at
    any depth (an import inside a function is a dependency too)."""
    path, is_package = MODULES[name]
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sklearn_xmh"):
                    yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("sklearn_xmh"):
                continue
            names = [alias.name for alias in node.names]
            # ``from . import _kernels`` imports a module.
            submodules = [n for n in names if f"{target}.{n}" in MODULES]
            for sub in submodules:
                yield f"{target}.{sub}", [], node.lineno
            rest = [n for n in names if n not in submodules]
            if rest:
                yield target, rest, node.lineno


def test_every_room_has_a_floor():
    rooms = {_room(name) for name in MODULES}
    assert rooms == set(FLOOR), f"rooms without a floor: {rooms ^ set(FLOOR)}"


def test_imports_between_rooms_go_down():
    upward = []
    for name in MODULES:
        for target, _, line in _imports(name):
            here, there = _room(name), _room(target)
            if here != there and FLOOR[there] >= FLOOR[here]:
                upward.append(f"{name}:{line} imports {target}")
    assert not upward, "imports that do not go down a floor:\n" + "\n".join(upward)


def test_no_module_imports_itself_back():
    graph = {name: {target for target, _, _ in _imports(name)} for name in MODULES}
    # A package's __init__ importing its own modules is how it exports them, not a circle.
    graph = {
        name: {t for t in targets if not t.startswith(name + ".") and t != name}
        for name, targets in graph.items()
    }
    state, circles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if state.get(target) == "open":
                circles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target, [*stack, target])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_no_private_name_crosses_rooms():
    private = [
        f"{name}:{line} imports {target}.{imported}"
        for name in MODULES
        for target, names, line in _imports(name)
        for imported in names
        if _room(name) != _room(target) and imported.startswith("_")
    ]
    assert not private, "private names imported from another room:\n" + "\n".join(private)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_functions_stay_short(name):
    path, _ = MODULES[name]
    source = path.read_text()
    assert len(source.splitlines()) <= MAX_MODULE_LINES
    long = []
    for parent in ast.walk(ast.parse(source)):
        for node in ast.iter_child_nodes(parent):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if (
                node.name == "__init__"
                and isinstance(parent, ast.ClassDef)
                and parent.name.endswith("Hasher")
            ):
                continue
            lines = node.end_lineno - node.lineno + 1
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                lines -= first.end_lineno - first.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                long.append(f"{node.name} ({lines} lines)")
    assert not long, f"{name}: functions over {MAX_FUNCTION_LINES} lines: {long}"


# ---- one vocabulary: a parameter several hashers share means one thing everywhere ----

# Hyperparameters every deep hasher has but each method sets for itself (chosen per method by
# cross-validation or from its paper): one constraint and one type, a default of its own.
PER_METHOD_DEFAULTS = {"weight_decay", "batch_size", "max_epochs"}
# A base constraint a hasher narrows for a reason its docstring gives.
NARROWED = {("cca-itq", "n_bits"): "the ITQ rotation is ``n_bits x n_bits``"}
# One name, two mechanisms: CHN's cosine hinge and UGACH's squared-distance hinge.
HOMONYMS = {"margin"}


def _parameters():
    import inspect

    from numpydoc.docscrape import ClassDoc

    from sklearn_xmh import all_estimators

    table = {}
    for name, cls in all_estimators():
        signature = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        docs = {}
        for entry in ClassDoc(cls)["Parameters"]:
            for param in entry.name.split(", "):
                docs[param] = (entry.type.split(", default=")[0], " ".join(entry.desc))
        table[name] = (cls, signature, docs)
    return table


def _owner_constraints():
    from sklearn_xmh.base import BaseCrossModalHasher, BaseDeepHasher

    return {**BaseDeepHasher._parameter_constraints, **BaseCrossModalHasher._parameter_constraints}


def test_shared_parameters_have_one_constraint_default_docstring_and_position():
    import inspect

    table = _parameters()
    owned = _owner_constraints()
    problems = []
    for param, constraint in owned.items():
        holders = {name: entry for name, entry in table.items() if param in entry[1]}
        defaults, docs = set(), set()
        for name, (cls, _, doc) in holders.items():
            if (name, param) in NARROWED:
                assert NARROWED[name, param] in doc[param][1], (name, param)
                continue
            if cls._parameter_constraints[param] is not constraint:
                problems.append(f"{name} redeclares the constraint of {param}")
            default = inspect.signature(cls.__init__).parameters[param].default
            defaults.add(repr(default))
            docs.add(doc[param] if param not in PER_METHOD_DEFAULTS else doc[param][0])
        if len(defaults) > 1 and param not in PER_METHOD_DEFAULTS:
            problems.append(f"{param} has defaults {sorted(defaults)}")
        if len(docs) > 1:
            problems.append(f"{param} is documented {len(docs)} ways: {sorted(docs)}")
    orders = {
        name: tuple(p for p in signature if p in owned) for name, (_, signature, _) in table.items()
    }
    longest = max(orders.values(), key=len)
    for name, order in orders.items():
        if order != tuple(p for p in longest if p in order):
            problems.append(f"{name} orders the shared parameters as {order}")
    assert not problems, "\n".join(problems)


def test_a_name_two_methods_share_has_one_constraint_and_type():
    table = _parameters()
    owned = _owner_constraints()
    seen = {}
    for name, (cls, signature, docs) in table.items():
        for param in signature:
            if param in owned or param in HOMONYMS or param == "kwargs":
                continue
            constraint = [str(c) for c in cls._parameter_constraints[param]]
            seen.setdefault(param, {})[name] = (constraint, docs[param][0])
    mixed = {
        param: holders
        for param, holders in seen.items()
        if len({repr(value) for value in holders.values()}) > 1
    }
    assert not mixed, mixed
