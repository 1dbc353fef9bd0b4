#include "apps/cli.h"
const char usage_sanity[] = "usage: earsight sanity (not yet)\n";
int cmd_sanity(int argc, char **argv) { return cli_usage("sanity", "not implemented yet"); }
