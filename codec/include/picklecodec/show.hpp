// Printing a value graph: a readable Python-like notation for people, and
// the graph JSON format (docs/graph-json.md) for scripts.
//
// The notation:
//   None True 12 1.5 'text' b'\x00' bytearray(b'..')   Python reprs
//   [..] (1,) {k: v} {1, 2} set() frozenset({..})        containers
//   <global module.qualname>                             a global as a value
//   Object(mod.Cls, (args..), state=.., listitems=[..], dictitems={..})
//       an inert object made by NEWOBJ (callable copyreg.__newobj__ with
//       args (Cls, *args)); NEWOBJ_EX adds kwargs={..}
//   Reduce(callable, (args..), state=.., ..)
//       any other inert object (REDUCE, INST, OBJ): callable(*args)
//   PersId(pid)  <buffer 0 readonly b'..'>
// A container, object, bytearray, persistent id or buffer reached more than
// once (shared, or on a cycle) is labelled where it is first printed, &N,
// and referred to as *N afterwards: `&1 [1, 'a', *1]`. Scalars (numbers,
// strs, bytes, globals) are printed in full wherever they occur.
// Anything that does not fit in `width` columns is broken over lines, one
// item per line, indented by two blanks.
//
// Both printers are iterative: graphs of any depth print without deep
// recursion. show() writes as it walks the graph, holding (beyond the graph)
// 4 bytes per node and 16 per nesting level, so that a pickle that spends a
// byte per level still prints within 64 bytes per input byte; a partial
// text may thus be written before an exception. Neither writes a trailing
// newline.
#pragma once

#include <ostream>

#include "picklecodec/value.hpp"

namespace pkl {

struct ShowOptions {
  // Lines longer than this are broken where the structure allows.
  int width = 80;
  // Nesting deeper than this many indentation levels stays on one line.
  int max_indent_levels = 32;
};

void show(const Graph& g, NodeId root, std::ostream& out, const ShowOptions& options = {});

// One graph JSON document (docs/graph-json.md) on one line, as Python's
// json.dumps writes it (", " and ": " separators, ensure_ascii: non-ASCII as
// \uXXXX, lone surrogates as \udXXX). Nodes are numbered in depth-first
// preorder from the root, which is node 0; only nodes reached from the root
// are written.
void show_json(const Graph& g, NodeId root, std::ostream& out);

}  // namespace pkl
