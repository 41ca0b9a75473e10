"""Tests for the repository's Bazel BUILD file.

BUILD is Starlark, whose rule calls are valid Python syntax, so it is read
with `ast`: every `py_library` / `py_binary` / `py_test` call with literal
`name`, `srcs`, `main` and `deps`. The checks: each project source file is in
exactly one target, test files are py_tests, modules with a `__main__` block
are py_binaries, deps name existing targets, and every project import of a
file is a direct dep of its target. When `bazel` is installed, `bazel query
//...` must also succeed and list every target.
"""

import ast
import dataclasses
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = ROOT / "BUILD"
# The folders whose Python files BUILD must cover.
SOURCE_DIRS = ("dcign_tf", "trainers", "export", "tests")
# The folders whose modules other files may import (and so the deps cover).
PROJECT_PACKAGES = ("dcign_tf", "trainers", "export", "tests")
RULES = ("py_library", "py_binary", "py_test")
BAZEL_TIMEOUT_S = 300


@dataclasses.dataclass(frozen=True)
class Target:
  kind: str
  name: str
  srcs: tuple
  main: str | None
  deps: tuple
  line: int


def _strings(node, what):
  """The strings of a literal list (or a single string) node."""
  if isinstance(node, ast.Constant) and isinstance(node.value, str):
    return (node.value,)
  if isinstance(node, ast.List):
    values = []
    for element in node.elts:
      assert isinstance(element, ast.Constant) and isinstance(
          element.value, str), (
              f"BUILD line {element.lineno}: {what} must be a list of "
              "string literals")
      values.append(element.value)
    return tuple(values)
  raise AssertionError(f"BUILD line {node.lineno}: {what} must be a list of "
                       "string literals")


def _read_build():
  """Returns (targets, names of the other top-level calls) of BUILD."""
  tree = ast.parse(BUILD.read_text(), str(BUILD))
  targets = []
  other_calls = []
  for statement in tree.body:
    if not (isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name)):
      continue
    call = statement.value
    if call.func.id not in RULES:
      other_calls.append(call.func.id)
      continue
    kwargs = {keyword.arg: keyword.value for keyword in call.keywords}
    assert not call.args, (
        f"BUILD line {call.lineno}: rule arguments must be keywords")
    assert "name" in kwargs, f"BUILD line {call.lineno}: a rule with no name"
    (name,) = _strings(kwargs["name"], "name")
    main = kwargs.get("main")
    targets.append(Target(
        kind=call.func.id,
        name=name,
        srcs=_strings(kwargs["srcs"], "srcs") if "srcs" in kwargs else (),
        main=_strings(main, "main")[0] if main is not None else None,
        deps=_strings(kwargs["deps"], "deps") if "deps" in kwargs else (),
        line=call.lineno))
  return targets, other_calls


def _source_files():
  """All .py files of the source folders, relative to the root, sorted."""
  files = []
  for folder in SOURCE_DIRS:
    files += [path.relative_to(ROOT).as_posix()
              for path in (ROOT / folder).rglob("*.py")]
  return sorted(files)


def _is_init_or_conftest(path):
  return path.rsplit("/", 1)[-1] in ("__init__.py", "conftest.py")


def _is_test_file(path):
  return path.startswith("tests/") and path.endswith("_test.py")


def _module_name(path):
  parts = path[:-len(".py")].split("/")
  if parts[-1] == "__init__":
    parts = parts[:-1]
  return ".".join(parts)


def _parse(path):
  return ast.parse((ROOT / path).read_text(), path)


def _has_main_block(tree):
  """Whether the module has a top-level `if __name__ == "__main__":`."""
  for statement in tree.body:
    if isinstance(statement, ast.If) and isinstance(statement.test,
                                                    ast.Compare):
      operands = [statement.test.left, *statement.test.comparators]
      names = {operand.id for operand in operands
               if isinstance(operand, ast.Name)}
      values = {operand.value for operand in operands
                if isinstance(operand, ast.Constant)}
      if "__name__" in names and "__main__" in values:
        return True
  return False


def _imported_modules(path, tree, modules):
  """The project modules (keys of `modules`) that the file imports.

  `from a.b import c` imports module a.b.c if there is one, else a.b; `import
  a.b.c` imports the longest prefix of a.b.c that is a module. Imports inside
  functions count too.
  """

  def known_prefix(dotted):
    parts = dotted.split(".")
    while parts:
      if ".".join(parts) in modules:
        return ".".join(parts)
      parts.pop()
    return None

  package = _module_name(path).split(".")
  if not path.endswith("__init__.py"):
    package = package[:-1]
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for alias in node.names:
        found.add(known_prefix(alias.name))
    elif isinstance(node, ast.ImportFrom):
      if node.level:
        base = package[:len(package) - node.level + 1]
        base = ".".join(base + ([node.module] if node.module else []))
      else:
        base = node.module
      if base.split(".")[0] not in PROJECT_PACKAGES:
        continue
      for alias in node.names:
        full = f"{base}.{alias.name}"
        found.add(full if full in modules else known_prefix(base))
  found.discard(None)
  return found


@pytest.fixture(scope="module")
def build():
  targets, other_calls = _read_build()
  return targets, other_calls


@pytest.fixture(scope="module")
def targets(build):
  return build[0]


@pytest.fixture(scope="module")
def by_name(targets):
  return {target.name: target for target in targets}


@pytest.fixture(scope="module")
def owners(targets):
  """Maps each src path to the names of the targets that list it."""
  result = {}
  for target in targets:
    for src in target.srcs:
      result.setdefault(src, []).append(target.name)
  return result


def test_build_has_only_native_py_rules(build):
  targets, other_calls = build
  assert targets, "BUILD declares no py_library / py_binary / py_test"
  # A load() would need rules_python, which offline `bazel query` cannot
  # fetch.
  assert "load" not in other_calls
  assert not other_calls, f"unexpected top-level calls: {other_calls}"


def test_target_names_are_unique(targets):
  names = [target.name for target in targets]
  duplicates = sorted({name for name in names if names.count(name) > 1})
  assert not duplicates, f"targets declared twice: {duplicates}"


def test_every_src_exists(targets):
  missing = [(target.name, src) for target in targets for src in target.srcs
             if not (ROOT / src).is_file()]
  assert not missing, f"srcs that are not files: {missing}"


def test_every_source_file_is_in_exactly_one_target(owners):
  files = _source_files()
  missing = [path for path in files
             if not _is_init_or_conftest(path) and path not in owners]
  assert not missing, f"files in no BUILD target: {missing}"
  repeated = {path: names for path, names in owners.items()
              if len(names) > 1}
  assert not repeated, f"files in more than one target: {repeated}"


def _owner(owners, path):
  names = owners.get(path, [])
  assert len(names) == 1, f"{path} is in {len(names)} targets: {names}"
  return names[0]


def test_test_files_are_py_tests(by_name, owners):
  for path in _source_files():
    if _is_test_file(path):
      name = _owner(owners, path)
      assert by_name[name].kind == "py_test", (
          f"{path} is in {by_name[name].kind} :{name}, not a py_test")
  for target in by_name.values():
    if target.kind == "py_test":
      assert all(_is_test_file(src) for src in target.srcs), (
          f"py_test :{target.name} has srcs that are not tests/**/*_test.py: "
          f"{target.srcs}")
      assert target.main in target.srcs, (
          f"py_test :{target.name} needs main = one of its srcs")


def test_modules_with_main_block_are_py_binaries(by_name, owners):
  for path in _source_files():
    if path.startswith("tests/") or _is_init_or_conftest(path):
      continue
    if _has_main_block(_parse(path)):
      name = _owner(owners, path)
      target = by_name[name]
      assert target.kind == "py_binary", (
          f"{path} has a __main__ block but is in {target.kind} :{name}")
      assert target.main == path, (
          f'py_binary :{name} needs main = "{path}", has {target.main!r}')
  for target in by_name.values():
    if target.kind == "py_binary":
      assert target.main in target.srcs, (
          f"py_binary :{target.name}: main {target.main!r} is not in srcs")
      assert _has_main_block(_parse(target.main)), (
          f"py_binary :{target.name}: {target.main} has no __main__ block")


def test_deps_name_existing_targets(targets, by_name):
  for target in targets:
    for dep in target.deps:
      assert dep.startswith(":"), (
          f":{target.name}: dep {dep!r} is not a local label ':name'")
      assert dep[1:] in by_name, (
          f":{target.name}: dep {dep!r} names no target in BUILD")
      assert dep[1:] != target.name, f":{target.name} depends on itself"
    assert len(set(target.deps)) == len(target.deps), (
        f":{target.name} lists a dep twice")


def test_deps_form_no_cycle(targets, by_name):
  # Bazel refuses a cycle; e.g. a package __init__ that imports its modules
  # while they depend on it.
  state = {}

  def visit(name, path):
    if state.get(name) == "done":
      return
    assert state.get(name) != "open", "dependency cycle: " + " -> ".join(
        path + [name])
    state[name] = "open"
    for dep in by_name[name].deps:
      visit(dep[1:], path + [name])
    state[name] = "done"

  for target in targets:
    visit(target.name, [])


def test_project_imports_are_direct_deps(targets, owners):
  modules = {_module_name(path): path for path in _source_files()}
  missing = []
  for target in targets:
    deps = {dep[1:] for dep in target.deps}
    for src in target.srcs:
      for module in sorted(_imported_modules(src, _parse(src), modules)):
        needed = owners.get(modules[module])
        if not needed:  # An __init__.py in no target: nothing to depend on.
          continue
        (needed,) = needed
        if needed != target.name and needed not in deps:
          missing.append(f":{target.name} ({src}) imports {module}: "
                         f"add ':{needed}' to its deps")
  assert not missing, "missing deps:\n" + "\n".join(missing)


def test_bazel_query_lists_every_target(targets, tmp_path):
  bazel = shutil.which("bazel")
  if bazel is None:
    pytest.skip("bazel is not installed")
  # --batch: no Bazel server is left running; the output root is ours.
  command = [bazel, "--batch", f"--output_user_root={tmp_path / 'bazel'}",
             "query", "--output=label_kind", "//..."]
  try:
    result = subprocess.run(command, cwd=ROOT, capture_output=True,
                            text=True, timeout=BAZEL_TIMEOUT_S, check=False)
  except subprocess.TimeoutExpired:
    pytest.fail(f"bazel query took over {BAZEL_TIMEOUT_S} s")
  assert result.returncode == 0, (
      f"bazel query failed ({result.returncode}):\n{result.stderr[-4000:]}")
  listed = {}
  for line in result.stdout.splitlines():
    # e.g. "py_library rule //:graphics_renderer"
    kind, _, label = line.split()
    listed[label] = kind
  expected = {f"//:{target.name}": target.kind for target in targets}
  assert listed == expected


# Which top-level packages each may import: the library stands alone, and
# the binaries of trainers/ and export/ reach each other only through it.
ALLOWED_IMPORTS = {"dcign_tf": {"dcign_tf"},
                   "trainers": {"dcign_tf", "trainers"},
                   "export": {"dcign_tf", "export"}}


def test_the_library_imports_no_binary_and_binaries_not_each_other():
  modules = {_module_name(path): path for path in _source_files()}
  wrong = []
  for path in _source_files():
    package = path.split("/")[0]
    if package not in ALLOWED_IMPORTS:
      continue
    for module in sorted(m for m in _imported_modules(path, _parse(path),
                                                      modules) if m):
      if module.split(".")[0] not in ALLOWED_IMPORTS[package]:
        wrong.append(f"{path} imports {module}")
  assert not wrong, "imports across layers:\n" + "\n".join(wrong)
