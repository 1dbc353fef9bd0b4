#include "apps/cli.h"
const char usage_sonify[] = "usage: earsight sonify (not yet)\n";
int cmd_sonify(int argc, char **argv) { return cli_usage("sonify", "not implemented yet"); }
