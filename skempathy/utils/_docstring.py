"""Docstrings whose shared parts are written once."""

import string


class Substitution:
    """Decorator filling the ``{name}`` fields of a class's or a function's docstring.

    After imbalanced-learn's decorator of the same name, in its ``str.format`` style: a
    literal brace of the docstring is doubled (``{{``, ``}}``). A value is a string, or a
    callable that takes the decorated object and returns one, for text that depends on it
    (a parameter entry showing the default of the class it documents); only the fields the
    docstring names are computed. A docstring of None (``python -OO``) is left alone.

    Parameters
    ----------
    **fields : str or callable
        The text of each field, or a callable ``fields[name](obj) -> str``.
    """

    def __init__(self, **fields):
        self.fields = fields

    def __call__(self, obj):
        if obj.__doc__:
            named = {name for _, name, _, _ in string.Formatter().parse(obj.__doc__) if name}
            values = {
                name: value(obj) if callable(value) else value
                for name, value in self.fields.items()
                if name in named
            }
            obj.__doc__ = obj.__doc__.format(**values)
        return obj
