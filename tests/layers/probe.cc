// Compiled by the layer tests (CMakeLists.txt here) with GTN_PROBE_HEADER set to one header:
// the build must refuse the internal headers a target may not see, and accept the others.
#include GTN_PROBE_HEADER

int gtn_layer_probe() { return 0; }
