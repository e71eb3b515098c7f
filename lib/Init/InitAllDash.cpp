//===- InitAllDash.cpp - Register every Dash dialect and pass ------------===//

#include "dash/InitAllDash.h"

#include "dash/Conversion/Passes.h"
#include "dash/Dialect/Dash/IR/Dash.h"
#include "dash/Dialect/Dash/TransformOps/DashTransformOps.h"
#include "dash/Dialect/Dash/Transforms/Passes.h"
#include "dash/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"

void mlir::dash::registerAllDashDialects(DialectRegistry &registry) {
  registry.insert<DashDialect>();
  registerTransformDialectExtension(registry);
}

void mlir::dash::registerAllDashPasses() {
  registerDashPasses();
  registerDashConversionPasses();
  registerDashPipelines();
}
