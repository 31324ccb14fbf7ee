"""Is a recode "CPython's bytes up to the order of set items"? (docs/conformance.md §6)

CPython writes a set's items in hash-table order; the codec writes them in
the order it stored them.  `set_order_equivalent(value, q, cpython, codec)`
answers whether `codec` is *exactly* what CPython's pickler writes for
`value` (a graph the oracle loaded, oracle/inert.py) at protocol q when each
set and frozenset is iterated in some order: the bytes are equal except for
the order of set items and what follows from it (memo numbering of later
objects, frame boundaries).

How: the pure-Python pickler (`pickle._Pickler`), with the oracle's
stand-ins and reducer_override, dumps `value` again, corrected where it is
not what _pickle.c writes (batches of lists, dicts and sets: _pickle.c
writes a 1-item last batch of an exact list as MARK item APPENDS, and an
empty MARK ADDITEMS / MARK SETITEMS after a full last batch of a set or
dict; and at protocol 0 it memoizes the str, not its escaped copy).  Where it writes the
items of a set it picks, item by item, the one whose encoding continues
`codec` (trial save, then roll back output, memo and framer).  Two checks
keep this sound:

  1. with CPython's own iteration order the pure-Python pickler must write
     exactly `cpython` (the C pickler's bytes) - otherwise the pure-Python
     replay is no model of the C pickler for this graph and no verdict is
     given;
  2. the guided dump must write exactly `codec`, byte for byte.

Where several items continue the target (one item's bytes can be a prefix
of another's, e.g. a str and a tuple starting with it), the longest match is
tried first, and a later dead end backtracks (depth-first, by restarting the
dump with that choice forbidden; at most MAX_RESTARTS restarts).  The answer
is never a false "equivalent" (the final bytes are compared exactly); past
the restart limit it is "undecided".

Python 3 standard library only (the oracle's python3).
"""

import os
import pickle
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inert  # noqa: E402

__all__ = ["set_order_equivalent", "has_set_opcodes", "py_dumps"]

_FRAME = pickle.FRAME[0]
_ATOMS = (int, float, bool, type(None))


class _Out(object):
    """The pickler's file: a bytearray that can be cut back."""
    __slots__ = ("buf",)

    def __init__(self):
        self.buf = bytearray()

    def write(self, data):
        self.buf += data
        return len(data)


class _NoMatch(Exception):
    """No item of a set continues the target bytes."""


_NONE = object()


class _Seq(object):
    """Items written in their own order (no choice to make)."""
    natural = True

    def __init__(self, items):
        self.items = list(items)
        self.i = 0

    def __len__(self):
        return len(self.items) - self.i

    def pop_first(self):
        v = self.items[self.i]
        self.i += 1
        return v


def _pool(items, pickler, guided=True):
    if guided and pickler._target is not None:
        return _Pool(items, pickler)
    return _Seq(items)


class _Pool(object):
    """Items of one set still to be written.  Atoms (int, float, bool, None:
    never memoized, bytes independent of context) are indexed by their
    encoding, so the one continuing the target is found without trials."""

    natural = False

    def __init__(self, items, pickler):
        self.items = dict(enumerate(items))     # key -> item, in the set's order
        self.atoms = {}         # encoding -> [keys]
        self.lengths = {}       # encoding length -> how many atoms have it
        self.enc = {}           # key -> encoding (atoms)
        self.nonatoms = {}      # key -> item (the others)
        for k, v in self.items.items():
            if type(v) in _ATOMS:
                b = pickler._atom_bytes(v)
                self.enc[k] = b
                self.atoms.setdefault(b, []).append(k)
                self.lengths[len(b)] = self.lengths.get(len(b), 0) + 1
            else:
                self.nonatoms[k] = v

    def __len__(self):
        return len(self.items)

    def pop_first(self):
        return self.pop(next(iter(self.items)))

    def pop(self, k):
        v = self.items.pop(k)
        b = self.enc.pop(k, None)
        if b is None:
            del self.nonatoms[k]
            return v
        keys = self.atoms[b]
        keys.remove(k)
        if not keys:
            del self.atoms[b]
        n = len(b)
        self.lengths[n] -= 1
        if not self.lengths[n]:
            del self.lengths[n]
        return v

    def find_atom(self, enc):
        keys = self.atoms.get(enc)
        return keys[0] if keys else None

    def atom_lengths(self):
        return sorted(self.lengths)

    def others(self, skip_atoms):
        """(key, item) to try by trial: all but the atoms (when those were
        looked up by encoding)."""
        return list((self.nonatoms if skip_atoms else self.items).items())


class _GuidedPickler(pickle._Pickler):
    """Pure-Python pickler with the oracle's stand-ins; set items in an
    order chosen to reproduce `target` (or the natural order if None)."""

    dispatch = dict(pickle._Pickler.dispatch)
    reducer_override = inert._OraclePickler.reducer_override
    _pti_same_name = inert._OraclePickler._pti_same_name
    _pti_standin = inert._OraclePickler._pti_standin
    _pti_registry = None

    def __init__(self, out, protocol, target, forbidden=None):
        pickle._Pickler.__init__(self, out, protocol, fix_imports=True)
        self._out = out
        self._target = target
        self._guided_lists = {}     # id(item list) -> id(set) (sets reduced below protocol 4)
        self._atom_cache = {}
        self._forbidden = forbidden if forbidden is not None else {}   # choice key -> {id(item)}
        self._order = []            # choice keys of this run, in order
        self._chosen = {}           # choice key -> id(item chosen)
        self._open = []             # choice keys where another item also fit

    # -- state snapshots (output, framer, memo) --
    def _snapshot(self):
        fr = self.framer.current_frame
        return (len(self._out.buf), fr, fr.tell() if fr is not None else 0, len(self.memo))

    def _rollback(self, snap):
        olen, fr, fpos, mlen = snap
        del self._out.buf[olen:]
        if fr is not None:
            fr.seek(fpos)
            fr.truncate()
        self.framer.current_frame = fr
        memo = self.memo
        while len(memo) > mlen:
            memo.popitem()

    def _consistent(self, snap):
        """Is the output so far a prefix of the target (frames allowed for)?
        Only what was written since `snap` is compared."""
        t = self._target
        olen0, fr0, fpos0, _ = snap
        buf = self._out.buf
        n = len(buf)
        if n > olen0 and bytes(buf[olen0:]) != t[olen0:n]:
            return False
        fr = self.framer.current_frame
        if fr is None:
            return True
        start = fpos0 if (fr is fr0 and n == olen0) else 0
        data = fr.getbuffer()
        try:
            m = len(data)
            if m == start:
                return True
            if n < len(t) and t[n] == _FRAME:
                base = n + 9
            else:
                base = n            # a last frame shorter than 4 bytes has no header
            return bytes(data[start:m]) == t[base + start:base + m]
        finally:
            data.release()

    def _offset(self):
        """Where the next byte written lands in the target, or None."""
        n = len(self._out.buf)
        fr = self.framer.current_frame
        if fr is None:
            return n
        if n < len(self._target) and self._target[n] == _FRAME:
            return n + 9 + fr.tell()
        return None

    def _atom_bytes(self, item):
        key = (type(item), repr(item) if type(item) is float else item)
        b = self._atom_cache.get(key) if key is not None else None
        if b is None:
            o = _Out()
            p = pickle._Pickler(o, self.proto)
            p.framer.current_frame = None
            p.save(item)
            b = bytes(o.buf)
            if key is not None:
                self._atom_cache[key] = b
        return b

    def _written(self):
        fr = self.framer.current_frame
        return len(self._out.buf) + (fr.tell() if fr is not None else 0)

    def _choose(self, pool, key):
        """The item of `pool` to write next (removed from it); `key` names
        this choice (set, position) across restarts."""
        if pool.natural or len(pool) == 1:
            return pool.pop_first()
        self.framer.commit_frame()      # what save() does first; idempotent
        off = self._offset()
        t = self._target
        banned = self._forbidden.get(key, ())
        fits = []                       # (bytes consumed, pool key)
        if off is not None and pool.atoms:
            for n in pool.atom_lengths():
                k = pool.find_atom(t[off:off + n])
                if k is not None and id(pool.items[k]) not in banned:
                    fits.append((n, k))
                    break
        others = pool.others(off is not None)
        # Many candidates: stop at the first one that fits by trial (an
        # atom found by its encoding is kept as the alternative).
        cheap = len(others) > 64
        tried_fit = False
        for k, item in others:
            if id(item) in banned:
                continue
            if cheap and tried_fit:
                break
            snap = self._snapshot()
            before = self._written()
            try:
                self.save(item)
                ok = self._consistent(snap)
                used = self._written() - before
            except _NoMatch:
                ok = False
            finally:
                self._rollback(snap)
            if ok:
                fits.append((used, k))
                tried_fit = True
        if not fits:
            raise _NoMatch()
        fits.sort(key=lambda f: -f[0])  # longest match first
        k = fits[0][1]
        item = pool.pop(k)
        self._order.append(key)
        self._chosen[key] = id(item)
        if len(fits) > 1:
            self._open.append(key)
        return item

    def _save_batches(self, pool, opening, closing, empty_tail, owner):
        """C's batching loop (save_set, batch_list_exact, batch_dict_exact):
        MARK, up to _BATCHSIZE items, closing opcode, again while the batch
        was full; with `empty_tail` a full last batch is followed by an empty
        one (MARK, closing), as _pickle.c's do/while writes it."""
        save = self.save
        write = self.write
        pos = 0
        while True:
            n = min(len(pool), self._BATCHSIZE)
            write(opening)
            for _ in range(n):
                save(self._choose(pool, (owner, pos)))
                pos += 1
            write(closing)
            if n < self._BATCHSIZE or (not len(pool) and not empty_tail):
                return

    # -- containers, as _pickle.c writes them (its batching differs from
    # pickle._Pickler's: see _save_batches) --
    def save_set(self, obj):
        if self.proto < 4:
            lst = list(obj)
            self._guided_lists[id(lst)] = id(obj)
            self.save_reduce(set, (lst,), obj=obj)
            return
        self.write(pickle.EMPTY_SET)
        self.memoize(obj)
        if len(obj):
            self._save_batches(_pool(obj, self), pickle.MARK, pickle.ADDITEMS, True, id(obj))
    dispatch[set] = save_set

    def save_frozenset(self, obj):
        if self.proto < 4:
            lst = list(obj)
            self._guided_lists[id(lst)] = id(obj)
            self.save_reduce(frozenset, (lst,), obj=obj)
            return
        write = self.write
        write(pickle.MARK)
        pool = _pool(obj, self)
        pos = 0
        while len(pool):
            self.save(self._choose(pool, (id(obj), pos)))
            pos += 1
        if id(obj) in self.memo:
            write(pickle.POP_MARK + self.get(self.memo[id(obj)][0]))
            return
        write(pickle.FROZENSET)
        self.memoize(obj)
    dispatch[frozenset] = save_frozenset

    def save_list(self, obj):
        self.write(pickle.EMPTY_LIST if self.bin else pickle.MARK + pickle.LIST)
        self.memoize(obj)
        if not len(obj):
            return
        # The items of a set reduced below protocol 4 are chosen.
        owner = self._guided_lists.get(id(obj))
        pool = _pool(obj, self, owner is not None)
        if not self.bin:                    # batch_list: one APPEND each
            pos = 0
            while len(pool):
                self.save(self._choose(pool, (owner, pos)))
                self.write(pickle.APPEND)
                pos += 1
        elif len(pool) == 1:                # batch_list_exact
            self.save(self._choose(pool, (owner, 0)))
            self.write(pickle.APPEND)
        else:
            self._save_batches(pool, pickle.MARK, pickle.APPENDS, False, owner)
    dispatch[list] = save_list

    def save_str(self, obj):
        if self.bin:
            return pickle._Pickler.save_str(self, obj)
        # Protocol 0: pickle._Pickler memoizes the escaped copy, _pickle.c
        # the str itself (so later references to it are GETs).
        tmp = obj.replace("\\", "\\u005c").replace("\0", "\\u0000").replace(
            "\n", "\\u000a").replace("\r", "\\u000d").replace("\x1a", "\\u001a")
        self.write(pickle.UNICODE + tmp.encode("raw-unicode-escape") + b"\n")
        self.memoize(obj)
    dispatch[str] = save_str

    def save_dict(self, obj):
        self.write(pickle.EMPTY_DICT if self.bin else pickle.MARK + pickle.DICT)
        self.memoize(obj)
        if not self.bin:                    # batch_dict over items(): SETITEM each
            for k, v in obj.items():
                self.save(k)
                self.save(v)
                self.write(pickle.SETITEM)
            return
        n = len(obj)
        if n == 0:
            return
        if n == 1:                          # batch_dict_exact
            for k, v in obj.items():
                self.save(k)
                self.save(v)
            self.write(pickle.SETITEM)
            return
        items = iter(obj.items())
        while True:
            self.write(pickle.MARK)
            i = 0
            for k, v in items:
                self.save(k)
                self.save(v)
                i += 1
                if i == self._BATCHSIZE:
                    break
            self.write(pickle.SETITEMS)
            if i < self._BATCHSIZE:
                return
    dispatch[dict] = save_dict


MAX_RESTARTS = 64


class _Undecided(Exception):
    """The search for an order gave up (MAX_RESTARTS)."""


def _dump_once(obj, protocol, target, forbidden):
    out = _Out()
    p = _GuidedPickler(out, protocol, target, forbidden)
    p._pti_session = inert._DumpSession()
    p._pti_proto = protocol
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 30000))
    try:
        try:
            p.dump(obj)
            failed = target is not None and bytes(out.buf) != target
        except _NoMatch:
            failed = True
    finally:
        sys.setrecursionlimit(old)
        inert._CURRENT[0] = None
        p._pti_session.close()
    return bytes(out.buf), failed, p


def py_dumps(obj, protocol, target=None):
    """Dump an oracle graph with the pure-Python pickler (modelling
    _pickle.c); with `target`, set items are ordered to reproduce it.
    Raises _NoMatch when no order does, _Undecided past MAX_RESTARTS."""
    forbidden = {}
    for _ in range(MAX_RESTARTS + 1):
        data, failed, p = _dump_once(obj, protocol, target, forbidden)
        if not failed:
            return data
        if not p._open:
            raise _NoMatch()
        # Backtrack: the last choice where another item also fitted.
        key = p._open[-1]
        forbidden.setdefault(key, set()).add(p._chosen[key])
        for later in p._order[p._order.index(key) + 1:]:
            forbidden.pop(later, None)
    raise _Undecided()


_SET_GLOBALS = {"builtins set", "builtins frozenset", "__builtin__ set", "__builtin__ frozenset"}


def has_set_opcodes(data):
    """Does this pickle (CPython's writing) hold a set or frozenset?"""
    import pickletools
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name in ("EMPTY_SET", "FROZENSET", "ADDITEMS"):
                return True
            if op.name == "GLOBAL" and arg in _SET_GLOBALS:
                return True
    except Exception:
        return True
    return False


def set_order_equivalent(value, protocol, cpython, codec):
    """(verdict, note): verdict True when `codec` is CPython's writing of
    `value` at `protocol` with set items in some order, False when it is not,
    None when the pure-Python replay cannot model the C pickler here."""
    if not has_set_opcodes(cpython):
        return False, "no set in the pickle"
    try:
        natural = py_dumps(value, protocol)
    except Exception as e:
        return None, "pure-Python pickler fails: %s: %s" % (type(e).__name__, e)
    if natural != cpython:
        return None, "pure-Python pickler does not reproduce the C pickler's bytes"
    try:
        guided = py_dumps(value, protocol, target=codec)
    except _NoMatch:
        return False, "no order of set items reproduces the codec's bytes"
    except _Undecided:
        return None, "gave up after %d restarts looking for an order of set items" % MAX_RESTARTS
    except Exception as e:
        return None, "guided replay fails: %s: %s" % (type(e).__name__, e)
    if guided == codec:
        return True, "same bytes up to the order of set items"
    return False, "no order of set items reproduces the codec's bytes"
