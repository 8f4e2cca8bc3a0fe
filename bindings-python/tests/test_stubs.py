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
