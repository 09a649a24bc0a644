"""``__init__`` methods built from the parameters a base class declares."""

import inspect


def init_from(base, *, positional=(), lead=None, only=None, exclude=(), defaults=None, **extra):
    """An ``__init__`` that takes the parameters ``base`` declares, so they are declared once.

    ``base.__init__`` has the signature ``(self, model, *, ...)``. The new signature is:
    ``positional`` parameters (default None); ``model`` and the ``lead`` keyword-only ones (a
    dict ``name: default``; before ``model`` when there are positional parameters, as ``model``
    is then keyword-only too); the other parameters of ``base.__init__`` (those named in
    ``only`` when given, less ``exclude``; ``defaults`` maps some of them to other defaults);
    then the ``extra`` keyword-only ones (``name=default``). Each argument is stored unchanged
    under its name, as scikit-learn's ``get_params`` and ``clone`` expect;
    ``inspect.signature`` (and so ``get_params``, the documentation and editors) sees the whole
    signature.
    """
    shared = list(inspect.signature(base.__init__).parameters.values())
    self_param, model, rest = shared[0], shared[1], shared[2:]
    unknown = (set(only or ()) | set(defaults or ())) - {p.name for p in shared}
    if unknown:
        raise ValueError(f"not shared parameters: {sorted(unknown)}")
    rest = [
        p.replace(default=(defaults or {}).get(p.name, p.default))
        for p in rest
        if (only is None or p.name in only) and p.name not in exclude
    ]
    if positional:
        model = model.replace(kind=inspect.Parameter.KEYWORD_ONLY)
    params = [self_param]
    params += [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)
        for name in positional
    ]
    keyword = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in {**(lead or {}), **extra}.items()
    ]
    n_lead = len(lead or {})
    # a keyword-only model follows the lead parameters; a positional one comes first
    params += keyword[:n_lead] + [model] if positional else [model] + keyword[:n_lead]
    params += rest + keyword[n_lead:]
    signature = inspect.Signature(params)

    def __init__(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{type(self).__name__}() {exc}") from None
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__
