// The disassembler: a listing of a pickle's opcodes, byte for byte what
// `python3 -m pickletools FILE` (pickletools.dis with indentlevel=4,
// annotate=0) prints for the installed CPython.
//
// It needs no value graph: it walks the opcodes with the generated table
// (opcodes.hpp) and emulates pickletools' checks (its crude stack and memo
// model, MARK matching). Memory stays proportional to the input: declared
// lengths are checked against the bytes that remain before anything is
// allocated for them.
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string>

namespace pkl {

struct DisOptions {
  // Blanks by which each open MARK indents the opcode names
  // (pickletools.dis(indentlevel=...), `python3 -m pickletools -l N`).
  int indentlevel = 4;
  // Offset in `data` at which the pickle starts. Offsets printed are
  // offsets in `data`, as pickletools prints file positions.
  uint64_t start = 0;
};

// Disassembles one pickle, from data[options.start] through its first STOP,
// writing pickletools' listing to `out` and its closing line
// "highest protocol among opcodes = N". Returns the offset just past STOP
// (bytes after it are not read).
//
// On a pickle that pickletools rejects, writes what pickletools writes
// before raising (the lines up to the fault; where pickletools fails while
// formatting a line, the "%5d: " offset prefix it had already printed),
// then throws pkl::Error whose message() is str() of pickletools'
// exception, with the offset and byte of the opcode at fault
// ("pickle exhausted before seeing STOP" has the end offset and no opcode).
uint64_t disassemble(std::span<const uint8_t> data, std::ostream& out,
                     const DisOptions& options = {});

}  // namespace pkl
