// What the JS layer and this addon agree on beyond the function names: lib/native.js refuses a
// binary whose values differ (a stale build or prebuild left from another version of the
// package would otherwise hand JS records it reads at the wrong offsets).
#pragma once

namespace vr::addon {

// Bump whenever a record, a control record's fields, or the meaning of a binding call changes
// in a way the JS layer of the previous version would misread.
inline constexpr int kInterfaceVersion = 1;

}  // namespace vr::addon
