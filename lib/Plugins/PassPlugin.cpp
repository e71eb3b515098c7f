//===- PassPlugin.cpp - Dash as an mlir-opt pass plugin ------------------===//
//
// `mlir-opt --load-pass-plugin=libDashPassPlugin.so` registers every dash pass
// and pipeline. Input with dash ops also needs the dialect plugin; passes that
// create dash ops (dash-raise-attention) load the dialect themselves.
//
//===----------------------------------------------------------------------===//

#include "dash/InitAllDash.h"

#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

extern "C" LLVM_ATTRIBUTE_WEAK mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "DashPasses", LLVM_VERSION_STRING,
          [] { mlir::dash::registerAllDashPasses(); }};
}
