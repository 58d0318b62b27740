/* SPDX-License-Identifier: MIT */
/* Status messages and the run-time version. */
#include "internal.h"

const char *asdnorm_version(void)
{
    return ASDNORM_VERSION_STRING;
}

unsigned asdnorm_version_number(void)
{
    return ASDNORM_VERSION_NUMBER;
}

const char *asdnorm_strerror(asdnorm_status status)
{
    switch (status) {
    case ASDNORM_OK: return "success";
    case ASDNORM_E_NULL: return "a required pointer argument is NULL";
    case ASDNORM_E_ARG: return "an argument is outside its valid range";
    case ASDNORM_E_ENUM: return "unknown enum value (distance, density, normalization or edition)";
    case ASDNORM_E_OVERFLOW: return "size computation overflows size_t";
    case ASDNORM_E_NONFINITE: return "input contains NaN or infinity";
    case ASDNORM_E_ZERO_VECTOR: return "zero vector under the cosine distance";
    case ASDNORM_E_LABEL: return "label outside its set (domain 0/1/2, anomaly 0/1)";
    case ASDNORM_E_STATE: return "wrong state: the index is not finalized";
    case ASDNORM_E_TOO_FEW: return "too few references or samples for this operation";
    case ASDNORM_E_DIM: return "dimension or length mismatch";
    case ASDNORM_E_NOMEM: return "out of memory";
    case ASDNORM_E_IO: return "file input/output error";
    case ASDNORM_E_CORRUPT: return "saved index is corrupt, truncated or fails its checksum";
    case ASDNORM_E_VERSION: return "saved index has an unsupported format version";
    case ASDNORM_E_RANGE: return "value too large to compute with (squared norm above 1e24)";
    case ASDNORM_E_EMPTY: return "no samples";
    case ASDNORM_E_NO_ANOMALY: return "no anomalous samples (in a section): the metric is undefined";
    case ASDNORM_E_NO_NORMAL: return "no normal samples (of a domain, in a section): the metric is undefined";
    case ASDNORM_E_DEGENERATE: return "degenerate data: the result is undefined";
    case ASDNORM_E_BUFFER: return "output buffer too small";
    case ASDNORM_E_CANCELED: return "canceled by the progress callback";
    }
    return "unknown status code";
}
