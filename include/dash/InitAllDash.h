//===- InitAllDash.h - Register every Dash dialect and pass ------*- C++ -*-===//
//
// One entry point for tools and for compilers that embed Dash.
//
//===----------------------------------------------------------------------===//

#ifndef DASH_INITALLDASH_H
#define DASH_INITALLDASH_H

namespace mlir {
class DialectRegistry;
namespace dash {

/// Adds the dash dialect (and the dialects its passes create) and the
/// `transform.dash.*` extension of the transform dialect to `registry`.
void registerAllDashDialects(DialectRegistry &registry);

/// Registers every dash pass and pipeline with the global pass registry.
void registerAllDashPasses();

} // namespace dash
} // namespace mlir

#endif // DASH_INITALLDASH_H
