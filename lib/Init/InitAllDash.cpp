//===- InitAllDash.cpp - Register every Dash dialect and pass ------------===//

#include "dash/InitAllDash.h"

#include "dash/Dialect/Dash/IR/Dash.h"
#include "dash/Dialect/Dash/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"

void mlir::dash::registerAllDashDialects(DialectRegistry &registry) {
  registry.insert<DashDialect>();
}

void mlir::dash::registerAllDashPasses() { registerDashPasses(); }
