"""Classes and functions that jlstore's pickle fixtures refer to by name.

The pickles under testdata/pickle/ name this module as `fixturemod`, so
gen.py imports it from this folder. Do not rename the module or anything in
it: that would change the fixtures' bytes.
"""


class Point:
    """A plain class: pickled as its class plus the state dict {'x', 'y'}."""

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __eq__(self, other):
        return type(other) is Point and (self.x, self.y) == (other.x, other.y)

    def __repr__(self):
        return 'Point(x=%r, y=%r)' % (self.x, self.y)


class Slotted:
    """A class with __slots__: its state is (None, {'x': .., 'y': ..})."""

    __slots__ = ('x', 'y')

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __eq__(self, other):
        return type(other) is Slotted and (self.x, self.y) == (other.x, other.y)

    def __repr__(self):
        return 'Slotted(x=%r, y=%r)' % (self.x, self.y)


def make(a, b):
    """Rebuilds a Reduced; Reduced.__reduce__ names this function."""
    return Reduced(a, b)


class Reduced:
    """A class whose __reduce__ returns (fixturemod.make, (a, b))."""

    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __reduce__(self):
        return (make, (self.a, self.b))

    def __eq__(self, other):
        return type(other) is Reduced and (self.a, self.b) == (other.a, other.b)

    def __repr__(self):
        return 'Reduced(a=%r, b=%r)' % (self.a, self.b)


class NewObjEx:
    """A class built by cls.__new__(cls, x, y=y): NEWOBJ_EX at protocol 4+."""

    def __new__(cls, x, *, y):
        obj = super().__new__(cls)
        obj.x = x
        obj.y = y
        return obj

    def __getnewargs_ex__(self):
        return ((self.x,), {'y': self.y})

    def __eq__(self, other):
        return type(other) is NewObjEx and (self.x, self.y) == (other.x, other.y)

    def __repr__(self):
        return 'NewObjEx(x=%r, y=%r)' % (self.x, self.y)


class Ref:
    """A marker that gen.py's Pickler turns into a persistent id (its key)."""

    def __init__(self, key):
        self.key = key

    def __eq__(self, other):
        return type(other) is Ref and self.key == other.key

    def __repr__(self):
        return 'Ref(%r)' % (self.key,)
