// The one byte formatter of the native code, for people to read (the
// trainer's summary, messages): 1234567 -> "1.2 MB", decimal units, one
// decimal below 1 GB and two from 1 GB, as common/format.ts's formatBytes
// writes them in the editor. Text meant to be pasted back into a config
// is the config language's own (config's size_text, the planner's
// size_text_at_least).
#pragma once
#include <string>

namespace ts {

std::string bytes_text(double bytes);

}  // namespace ts
