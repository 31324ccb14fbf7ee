// picklecodec: Python's pickle format in C++, with nothing of Python run.
// The whole public API in one include:
//
//   #include <picklecodec/picklecodec.hpp>
//
//   pkl::Graph g = pkl::decode(bytes);                           // pickle.loads, inert
//   std::string again = pkl::encode(g, g.root(), {.protocol = 2});  // pickle.dumps
//   auto v = pkl::load<std::map<std::string, int>>(bytes);       // typed (typed.hpp)
//   std::string out = pkl::dump(v);
//
// Or include only what you use:
//   value.hpp     the value graph (pkl::Graph, NodeId, Kind)
//   decode.hpp    bytes to a graph, under a budget (limits.hpp); errors: error.hpp
//   encode.hpp    a graph to bytes: encode(), encode_to(), Encoder
//   registry.hpp  C++ classes as Python classes (hooks); binding.hpp: PKL_CLASS
//   typed.hpp     C++ values to pickles and back (pkl::load, pkl::dump, pkl::Value)
//   ndarray.hpp   numpy arrays; torch.hpp: PyTorch checkpoints
//   show.hpp, dis.hpp, repr.hpp, opcodes.hpp   readable forms of graphs and pickles
//   scan.hpp, trace.hpp   what a pickle would import and call
//   memory.hpp    the cache of freed large blocks the library keeps
#pragma once

#include "picklecodec/error.hpp"
#include "picklecodec/limits.hpp"
#include "picklecodec/memory.hpp"
#include "picklecodec/value.hpp"
#include "picklecodec/registry.hpp"
#include "picklecodec/decode.hpp"
#include "picklecodec/encode.hpp"
#include "picklecodec/typed.hpp"
#include "picklecodec/binding.hpp"
#include "picklecodec/ndarray.hpp"
#include "picklecodec/torch.hpp"
#include "picklecodec/opcodes.hpp"
#include "picklecodec/repr.hpp"
#include "picklecodec/show.hpp"
#include "picklecodec/dis.hpp"
#include "picklecodec/trace.hpp"
#include "picklecodec/scan.hpp"
