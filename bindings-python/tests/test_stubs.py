"""The hand-kept _native.pyi must name exactly what the extension exports (no drift)."""

import ast
import inspect
import os

import polymailer._native as native

STUB = os.path.join(os.path.dirname(native.__file__), "_native.pyi")


def stub_names():
    tree = ast.parse(open(STUB).read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names = {
                n.name if isinstance(n, ast.FunctionDef) else n.target.id
                for n in node.body
                if isinstance(n, (ast.FunctionDef, ast.AnnAssign))
            }
            out[node.name] = {n for n in names if not n.startswith("_")}
        elif isinstance(node, ast.FunctionDef):
            out[node.name] = None
    return out


def runtime_names():
    out = {}
    for name, obj in vars(native).items():
        if name.startswith("_"):
            continue
        if inspect.isclass(obj):
            out[name] = {n for n in vars(obj) if not n.startswith("_")}
        elif callable(obj):
            out[name] = None
    return out


def test_stub_matches_extension():
    stubs, runtime = stub_names(), runtime_names()
    assert set(stubs) == set(runtime)
    for name, members in runtime.items():
        if members is not None:
            assert stubs[name] == members, name


def _stub_params(fn):
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args] + (["*" + a.vararg.arg] if a.vararg else [])
    names += [p.arg for p in a.kwonlyargs] + (["**" + a.kwarg.arg] if a.kwarg else [])
    return [n for n in names if n not in ("self", "cls")]


def _runtime_params(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    out = []
    for p in sig.parameters.values():
        if p.name in ("self", "cls", "$self", "$cls"):
            continue
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        out.append(prefix + p.name)
    return out


def test_stub_signatures_match_extension():
    """Parameter names, in order, as the extension's text signatures give them."""
    tree = ast.parse(open(STUB).read())
    checked = 0
    for node in tree.body:
        targets = []
        if isinstance(node, ast.FunctionDef):
            targets.append((node, getattr(native, node.name)))
        elif isinstance(node, ast.ClassDef):
            cls = getattr(native, node.name)
            for f in node.body:
                if isinstance(f, ast.FunctionDef) and not any(
                    isinstance(d, ast.Name) and d.id == "property" for d in f.decorator_list
                ):
                    target = cls if f.name == "__init__" else getattr(cls, f.name, None)
                    if target is not None:
                        targets.append((f, target))
        for fn, obj in targets:
            runtime = _runtime_params(obj)
            if runtime is None:
                continue
            assert _stub_params(fn) == runtime, "%s.%s" % (node.name, fn.name)
            checked += 1
    assert checked >= 10, checked
