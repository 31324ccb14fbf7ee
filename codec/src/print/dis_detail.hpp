// The disassembler's table, for the library's own tests (not API).
#pragma once

#include <cstdint>
#include <string>

namespace pkl::detail {

// pickletools' stack effect of an opcode as "before->after", stack object
// names comma-separated (e.g. APPENDS: "list,mark,stackslice->list"); empty
// for a byte that is no opcode. tests/test_dis.cpp checks the disassembler's
// table against the installed pickletools with it. (print/dis.cpp)
std::string dis_stack_effect(uint8_t code);

}  // namespace pkl::detail
