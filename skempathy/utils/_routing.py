"""Metadata routing of the meta-estimators (scikit-learn's ``enable_metadata_routing``).

With routing on, ``fit`` metadata (``groups``, ``sample_weight``, ...) goes to each member that
requests it; with routing off, every member gets all of it, as before routing existed.
"""

from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    get_routing_for_object,
    process_routing,
)

from ._sklearn_compat import _routing_enabled


def fit_router(owner, children):
    """A router that sends ``fit`` metadata to the ``fit`` of every ``{name: estimator}``."""
    router = MetadataRouter(owner=type(owner).__name__)
    for name, child in children.items():
        router.add(**{name: child}, method_mapping=MethodMapping().add(caller="fit", callee="fit"))
    return router


def route_fit(owner, names, fit_params):
    """``{name: fit params}`` for the children of ``owner.get_metadata_routing()``."""
    if _routing_enabled():
        routed = process_routing(owner, "fit", **fit_params)
        return {name: dict(routed[name].fit) for name in names}
    return {name: dict(fit_params) for name in names}


def consumes(estimator, method, param):
    """Whether ``estimator`` (or a step, member or wrapped estimator of it) requests ``param``
    in ``method``."""
    return param in get_routing_for_object(estimator).consumes(method, [param])
