//===- dash-embed-example.cpp - A compiler embedding Dash ----------------===//
//
// Registers Dash next to the dialects the compiler already has, parses a
// module and runs a pass pipeline given as text (passes found by name). The
// pass manager is anchored on builtin.module, so the pipeline names what runs
// inside the module, e.g. `func.func(dash-decompose)`.
//
//===----------------------------------------------------------------------===//

#include "dash/InitAllDash.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    llvm::errs() << "usage: dash-embed-example FILE PIPELINE\n";
    return 2;
  }
  mlir::dash::registerAllDashPasses();
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect>();
  mlir::dash::registerAllDashDialects(registry);
  mlir::MLIRContext context(registry);

  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(argv[1], &context);
  if (!module)
    return 1;
  mlir::PassManager pm(&context);
  if (mlir::failed(mlir::parsePassPipeline(argv[2], pm, llvm::errs())) ||
      mlir::failed(pm.run(*module)))
    return 1;
  module->print(llvm::outs());
  return 0;
}
