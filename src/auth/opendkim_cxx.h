// libopendkim for C++: include this instead of <opendkim/dkim.h>. The header uses C99's
// `_Bool`, which C++ does not have; it is the same type as C++'s `bool` (same ABI).
#pragma once

// clang-format off
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool
// clang-format on
