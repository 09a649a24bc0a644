"""Every public estimator and function documents exactly its parameters.

Modelled on imbalanced-learn's ``test_docstring_parameters.py``: the
``Parameters`` section of the numpydoc docstring (of the class for an
estimator, of the function otherwise) must name the signature's parameters,
in order, and nothing else.
"""

import ast
import importlib
import inspect

import pytest

import skempathy
from skempathy.utils import all_estimators
from skempathy.utils._docstring import Substitution

numpydoc = pytest.importorskip("numpydoc.docscrape", reason="numpydoc is a test dependency")


def _documented(obj):
    doc = numpydoc.ClassDoc(obj) if inspect.isclass(obj) else numpydoc.FunctionDoc(obj)
    names = []
    for param in doc["Parameters"]:
        # "a, b : int" documents two parameters; "**params" documents params
        names += [name.strip().lstrip("*") for name in param.name.split(",")]
    return names


def _signature(func):
    return [
        name
        for name, p in inspect.signature(func).parameters.items()
        if name not in ("self", "cls")
    ]


def _public_functions():
    for module_name in skempathy._submodules:
        module = importlib.import_module(f"skempathy.{module_name}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj) and not name.startswith("_"):
                yield f"skempathy.{module_name}.{name}", obj


ESTIMATORS = all_estimators()
FUNCTIONS = sorted(dict(_public_functions()).items())


@pytest.mark.parametrize("name, cls", ESTIMATORS, ids=[name for name, _ in ESTIMATORS])
def test_estimator_documents_its_parameters(name, cls):
    assert _documented(cls) == _signature(cls.__init__), (
        f"{name}: the docstring's Parameters section must list exactly the __init__ "
        f"parameters, in order"
    )


@pytest.mark.parametrize("name, cls", ESTIMATORS, ids=[name for name, _ in ESTIMATORS])
def test_estimator_documents_its_defaults(name, cls):
    """A ``default=`` in the Parameters section is the signature's default."""
    signature = inspect.signature(cls.__init__).parameters
    for param in numpydoc.ClassDoc(cls)["Parameters"]:
        if "default=" not in param.type:
            continue
        documented = ast.literal_eval(param.type.rsplit("default=", 1)[1].strip())
        for each in param.name.split(","):
            actual = signature[each.strip()].default
            if isinstance(documented, tuple):
                actual = tuple(actual)
            assert actual == documented, (
                f"{name}: {each.strip()} is documented with default={documented!r}, "
                f"its signature says {actual!r}"
            )


@pytest.mark.parametrize("name, cls", ESTIMATORS, ids=[name for name, _ in ESTIMATORS])
def test_estimator_writes_its_init_out(name, cls):
    """``__init__`` is the class's own function with named parameters, so that editors and
    type checkers read them from the source, as in scikit-learn (an ``__init__`` built at
    import time shows them to ``inspect`` only)."""
    init = vars(cls).get("__init__")
    assert inspect.isfunction(init), f"{name} must define its own __init__"
    assert not hasattr(init, "__signature__"), f"{name}.__init__ has a made-up signature"
    assert not init.__code__.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS), (
        f"{name}.__init__ must name its parameters"
    )


def test_substitution_fills_the_named_fields():
    def boom(obj):
        raise AssertionError("a field the docstring does not name is not computed")

    @Substitution(entry=lambda obj: f"{obj.__name__} : int", plain="text", unused=boom)
    def func():
        """{entry}, {plain} and {{a literal brace}}."""

    assert func.__doc__ == "func : int, text and {a literal brace}."


def test_substitution_leaves_a_missing_docstring_alone():
    def func():
        pass

    assert Substitution(plain="text")(func).__doc__ is None


@pytest.mark.parametrize("name, func", FUNCTIONS, ids=[name for name, _ in FUNCTIONS])
def test_function_documents_its_parameters(name, func):
    assert _documented(func) == _signature(func), (
        f"{name}: the docstring's Parameters section must list exactly the parameters, in order"
    )


def test_the_walk_found_the_public_api():
    assert len(ESTIMATORS) >= 15 and len(FUNCTIONS) >= 40
