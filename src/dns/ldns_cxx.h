// ldns for C++: include this instead of <ldns/ldns.h>. Unless stdbool.h came first,
// ldns/common.h defines `bool`, `true` and `false` as macros, which breaks every C++ header
// included after it (clang rejects <optional>; GCC compiles it, with `true` an int).
#pragma once

// The order matters: stdbool.h sets __bool_true_false_are_defined, and ldns then leaves bool
// alone.
// clang-format off
#include <stdbool.h>
#include <ldns/ldns.h>
// clang-format on
