"""Open bugs of the codec that the real-library corpus found (issue 15), each
with a minimal reproduction.  They are not divergences (nothing allows them):
tests/realworld_test.py and ci/diffcheck count and print them as "open"
instead of failing, and the test fails when one no longer occurs, so that an
entry goes when its bug is fixed.

Each entry: (file pattern, check, what the failure says, the bug), where
check is "real" (the real-class reference, oracle/realclass.py) or "show"
(`pickletool show`), the pattern is matched against the file's name
(fnmatch) and the text against the verdict's note or pickletool's error.
"""
import fnmatch
import os

KNOWN_OPEN = [
    ("cloudpickle_*", "real", "load as a different object",
     "a state_setter call (the 6th item of __reduce__: setter, obj, state, TUPLE2, REDUCE, POP) is dropped by "
     "the codec and the inert model alike, since its result is popped: cloudpickle's _function_setstate and "
     "_class_setstate, so the recoded function loses its defaults and globals and the class its methods. "
     "Repro: a class whose __reduce__ returns (collections.OrderedDict, (), [('a', 1)], None, None, "
     "collections.OrderedDict.update), pickled at 4: pickle.loads gives OrderedDict([('a', 1)]), "
     "pickletool show gives Reduce(collections.OrderedDict, ())"),
    ("cloudpickle_class.p[2-5].pickle", "real", "NEWOBJ class argument must be a type",
     "NEWOBJ whose class is the result of a call (cloudpickle's _make_skeleton_class(type, 'Point', ...)) is "
     "refused by the codec and the inert model ('NEWOBJ class argument must be a type, not "
     "_make_skeleton_class'); CPython loads it (the call returns a class). Repro: "
     "b'\\x80\\x02cbuiltins\\ntype\\nX\\x01\\x00\\x00\\x00P)}\\x87R)\\x81.' loads in CPython (an instance of "
     "the new class P), pickletool show refuses it"),
    ("cloudpickle_class.p[2-5].pickle", "show", "NEWOBJ class argument must be a type",
     "the same NEWOBJ refusal: pickletool show cannot open the file"),
]


def match(path, check, text):
    """The index of the KNOWN_OPEN entry this failure is, or None."""
    name = os.path.basename(path)
    for i, (pattern, what, says, _) in enumerate(KNOWN_OPEN):
        if what == check and fnmatch.fnmatch(name, pattern) and says in (text or ""):
            return i
    return None
