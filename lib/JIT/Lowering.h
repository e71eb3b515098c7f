//===- Lowering.h - Dash modules to the LLVM dialect -------------*- C++
//-*-===//
//
// The part of compilation shared by the in-process JIT (CpuFunction) and the
// ahead-of-time compiler: verification, differentiation, the entry's
// signature and the target's pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_LIB_JIT_LOWERING_H
#define DASH_LIB_JIT_LOWERING_H

#include "Temporaries.h"
#include "dash/JIT/CpuFunction.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"

namespace dash {

/// Collects diagnostics as "location: message" lines for error values.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext *context)
      : handler(context, [this](mlir::Diagnostic &diag) {
          llvm::raw_string_ostream os(text);
          os << diag.getLocation() << ": " << diag << "\n";
          for (const mlir::Diagnostic &note : diag.getNotes())
            os << note.getLocation() << ": note: " << note << "\n";
          return mlir::success();
        }) {}

  llvm::Error error(const llvm::Twine &what) const {
    return llvm::createStringError(what + (text.empty() ? "" : ":\n" + text));
  }

private:
  std::string text;
  mlir::ScopedDiagnosticHandler handler;
};

/// Arguments and results of the entry function, before lowering, and the
/// buffers the lowered code allocates on each call.
struct LoweredSignature {
  std::vector<TensorSpec> inputs, outputs;
  Temporaries temporaries;
};

/// Verifies `module`, generates requested gradient functions, reads the
/// signature of `entry` and lowers the module to the LLVM dialect with the
/// pipeline of `options.target` (C wrappers included). Fails as
/// checkTemporaries does on temporaries too large to allocate.
llvm::Expected<LoweredSignature> lowerToLLVM(mlir::ModuleOp module,
                                             llvm::StringRef entry,
                                             const CompileOptions &options);

} // namespace dash

#endif // DASH_LIB_JIT_LOWERING_H
