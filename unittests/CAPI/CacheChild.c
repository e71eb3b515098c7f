/*===- CacheChild.c - A second process for the disk cache tests ---------===*\
|*                                                                            *|
|* DashCAPICacheChild CACHE_DIR INPUTS OUTPUT: compiles the configuration of  *|
|* the CAPI test fixture with the disk cache in CACHE_DIR, runs its forward   *|
|* pass on the float32 q, k, v in INPUTS and writes o to OUTPUT. Prints the   *|
|* kernel's source (DashKernelSource). Written in C, as a C user would.       *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#include "dash-c/Dash.h"

#include <stdio.h>
#include <stdlib.h>

static int fail(DashContext context, const char *what) {
  fprintf(stderr, "%s: %s\n", what, dashGetLastError(context));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s CACHE_DIR INPUTS OUTPUT\n", argv[0]);
    return 2;
  }
  DashContext context = NULL;
  if (dashContextCreate(&context) != DASH_STATUS_OK ||
      dashContextSetCacheDir(context, argv[1]) != DASH_STATUS_OK)
    return fail(context, "context");
  DashAttentionConfig config;
  dashAttentionConfigInit(&config);
  config.batch = 1;
  config.heads = 4;
  config.kv_heads = 2;
  config.seq_len = 40;
  config.head_dim = 16;
  config.block_size = 8;
  config.gamma = 2.0;
  config.prior = DASH_PRIOR_RAW;
  DashKernel kernel = NULL;
  if (dashCompile(context, &config, DASH_TARGET_CPU, &kernel) != DASH_STATUS_OK)
    return fail(context, "dashCompile");

  size_t qSize = 4 * 40 * 16, kvSize = 2 * 40 * 16;
  float *data = malloc(sizeof(float) * (qSize + 2 * kvSize + qSize));
  float *q = data, *k = q + qSize, *v = k + kvSize, *o = v + kvSize;
  FILE *in = fopen(argv[2], "rb");
  if (!in || fread(data, sizeof(float), qSize + 2 * kvSize, in) !=
                 qSize + 2 * kvSize) {
    fprintf(stderr, "cannot read %s\n", argv[2]);
    return 1;
  }
  fclose(in);
  if (dashForward(kernel, q, k, v, NULL, o, NULL, NULL, NULL) != DASH_STATUS_OK)
    return fail(context, "dashForward");
  FILE *out = fopen(argv[3], "wb");
  if (!out || fwrite(o, sizeof(float), qSize, out) != qSize ||
      fclose(out) != 0) {
    fprintf(stderr, "cannot write %s\n", argv[3]);
    return 1;
  }
  DashKernelInfo info;
  if (dashKernelGetInfo(kernel, DASH_PASS_FORWARD, &info) != DASH_STATUS_OK)
    return fail(context, "dashKernelGetInfo");
  printf("source %d\n", (int)info.source);
  free(data);
  dashKernelRelease(kernel);
  dashContextDestroy(context);
  return 0;
}
