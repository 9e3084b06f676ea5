// The library's interface is GSTBridge.h, which lives with the loader (GSTBridgeLoader) so that the
// types are shared and `affect` needs no GStreamer to build; this target implements its functions.
#ifndef AFFECT_GST_BRIDGE_LIBRARY_H
#define AFFECT_GST_BRIDGE_LIBRARY_H
#include "GSTBridge.h"
#endif
