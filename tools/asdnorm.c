/* SPDX-License-Identifier: MIT */
/* asdnorm: local-density anomaly-score normalization from the command line. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char main_help[] =
    "Usage: asdnorm COMMAND [options]\n"
    "\n"
    "Anomaly scores of embeddings normalized by the local density of the normal\n"
    "references, so that one decision threshold fits a dense source domain and a\n"
    "sparse target domain (Local Density-Based Anomaly Score Normalization).\n"
    "\n"
    "Commands:\n"
    "  score        anomaly scores of test embeddings against reference embeddings\n"
    "  eval         AUC, pAUC and the DCASE official score of scores and labels\n"
    "  index build  finalize references into a saved index (.asdx)\n"
    "  index info   describe a saved index\n"
    "  demo         a synthetic domain-shift data set: plain k-NN against the\n"
    "               normalized scores and the baselines\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help ('asdnorm COMMAND --help' for a command)\n"
    "  -V, --version  show the version of the program and of the library\n"
    "\n"
    "Files are NumPy .npy (format 1.0-3.0, C order) or .csv, chosen by extension.\n"
    "Exit status: 0 success, 1 error, 2 usage error. See asdnorm(1).\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_help, stderr);
        return EXIT_USAGE;
    }
    /* The program owns its process and runs no BLAS work of its own: let the
     * library set OpenBLAS to one thread while its own threads call it, which
     * keeps one pool of threads on the cores (docs/embedding.md). */
    (void)asdnorm_set_blas_control(1);
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(main_help, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("asdnorm %s (libasdnorm %s)\n", ASDNORM_VERSION_STRING, asdnorm_version());
        return EXIT_OK;
    }
    if (strcmp(cmd, "score") == 0)
        return cmd_score(argc - 1, argv + 1);
    if (strcmp(cmd, "calibrate") == 0)
        return cmd_calibrate(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 1, argv + 1);
    if (strcmp(cmd, "index") == 0)
        return cmd_index(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    if (cmd[0] == '-')
        return cli_usage(NULL, "unknown option '%s'", cmd);
    return cli_usage(NULL, "unknown command '%s' (score, calibrate, eval, index, demo)", cmd);
}
