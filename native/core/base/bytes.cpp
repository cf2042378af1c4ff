#include "base/bytes.h"

#include <cmath>
#include <cstdio>

namespace ts {

std::string bytes_text(double b) {
  char buf[48];
  const double a = std::fabs(b);
  if (a >= 1e12) std::snprintf(buf, sizeof buf, "%.2f TB", b / 1e12);
  else if (a >= 1e9) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (a >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else if (a >= 1e3) std::snprintf(buf, sizeof buf, "%.1f KB", b / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

}  // namespace ts
