//===- DialectPlugin.cpp - Dash as an mlir-opt dialect plugin ------------===//
//
// `mlir-opt --load-dialect-plugin=libDashDialectPlugin.so` registers the dash
// dialect and the `transform.dash.*` extension; passes come from the pass
// plugin.
//
//===----------------------------------------------------------------------===//

#include "dash/InitAllDash.h"

#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "llvm/Config/llvm-config.h"

extern "C" LLVM_ATTRIBUTE_WEAK mlir::DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "Dash", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) {
            mlir::dash::registerAllDashDialects(*registry);
          }};
}
