"""Classes whose instances the benchmark payloads pickle ("objects with state").

payloads.py pickles instances of these; CPython needs them importable again to
time pickle.loads (bench/ is put on sys.path). The codec decodes them inert.
"""


class Point:
    """A plain class: pickled as NEWOBJ (copyreg.__newobj__) + BUILD of its __dict__."""

    def __init__(self, x, y, label, weight):
        self.x = x
        self.y = y
        self.label = label
        self.weight = weight


class Account:
    """A class with a custom __getstate__/__setstate__ (state is a tuple)."""

    def __init__(self, owner, balance, history):
        self.owner = owner
        self.balance = balance
        self.history = history

    def __getstate__(self):
        return (self.owner, self.balance, self.history)

    def __setstate__(self, state):
        self.owner, self.balance, self.history = state
