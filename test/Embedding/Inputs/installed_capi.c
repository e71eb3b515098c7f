/* A C program built against an install tree's include/dash-c and
 * lib/libDashC.so: compiles an attention and checks a result it can know
 * exactly (every value vector is the same, so every output is that vector,
 * whatever is selected). argv[1]: the disk cache directory. */
#include "dash-c/Dash.h"

#include <math.h>
#include <stdio.h>

int main(int argc, char **argv) {
  DashContext context = NULL;
  DashAttentionConfig config;
  DashKernel kernel = NULL;
  float q[2 * 32 * 8], kv[32 * 8], v[32 * 8], o[2 * 32 * 8];
  if (argc != 2 || dashContextCreate(&context) != DASH_STATUS_OK ||
      dashContextSetCacheDir(context, argv[1]) != DASH_STATUS_OK)
    return 2;
  dashAttentionConfigInit(&config);
  config.heads = 2;
  config.seq_len = 32;
  config.head_dim = 8;
  config.block_size = 8;
  for (int i = 0; i < 2 * 32 * 8; ++i)
    q[i] = (float)sin(0.37 * i);
  for (int i = 0; i < 32 * 8; ++i) {
    kv[i] = (float)cos(0.11 * i);
    v[i] = (float)(i % 8) - 3.5f;
  }
  if (dashCompile(context, &config, DASH_TARGET_CPU, &kernel) !=
          DASH_STATUS_OK ||
      dashForward(kernel, q, kv, v, NULL, o, NULL, NULL, NULL) !=
          DASH_STATUS_OK) {
    fprintf(stderr, "%s\n", dashGetLastError(context));
    return 1;
  }
  for (int i = 0; i < 2 * 32 * 8; ++i)
    if (fabsf(o[i] - ((float)(i % 8) - 3.5f)) > 1e-5f) {
      fprintf(stderr, "o[%d] = %g\n", i, o[i]);
      return 1;
    }
  printf("installed C API %d: OK (%s)\n", dashGetApiVersion(),
         dashGetVersion());
  dashKernelRelease(kernel);
  dashContextDestroy(context);
  return 0;
}
