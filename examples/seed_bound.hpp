// The seed's SimpleObject (seed_classes.hpp) bound with PKL_CLASS: the
// Python class __main__.SimpleObject, its attributes name and name_backwards.
#pragma once

#include "picklecodec/binding.hpp"
#include "seed_classes.hpp"

namespace seed {
PKL_CLASS(SimpleObject, "__main__", "SimpleObject", name, name_backwards)
}  // namespace seed
