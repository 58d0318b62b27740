// The public header must compile as C++ and link from C++ (libxkbcommon's
// test/headers-compatibility.cpp does the same).
#include <asdnorm/asdnorm.h>

#include <cstdio>
#include <cstring>

int main()
{
    asdnorm_index *ix = nullptr;
    if (asdnorm_index_new(4, ASDNORM_DISTANCE_COSINE, &ix) != ASDNORM_OK || ix == nullptr)
        return 1;
    asdnorm_index_free(ix);
    if (asdnorm_version_number() != ASDNORM_VERSION_NUMBER ||
        std::strcmp(asdnorm_version(), ASDNORM_VERSION_STRING) != 0) {
        std::fprintf(stderr, "header/library version mismatch\n");
        return 1;
    }
    return 0;
}
