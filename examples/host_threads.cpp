// SPDX-License-Identifier: MIT
// A C++ host that keeps its own threads and its own BLAS work while it uses
// libasdnorm (docs/embedding.md):
//  - one thread of the host runs its own matrix products (cblas_sgemm) the
//    whole time, with the BLAS's threads as the host configured them;
//  - the index is finalized on 2 threads of the library's;
//  - the host scores a batch on its own threads, each with its own scorer of
//    1 thread over the shared index, one range of rows each.
// The host's BLAS setting never changes, its products stay right, and the
// scores are exactly those of one call on one thread.
//
//   c++ host_threads.cpp $(pkg-config --cflags --libs asdnorm) -lblas -pthread
#include <asdnorm/asdnorm.h>
#include <cblas.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

// Present when the BLAS is OpenBLAS: the host reads its own setting.
extern "C" int openblas_get_num_threads(void) __attribute__((weak));

namespace {

constexpr size_t kDim = 64, kRefs = 4000, kTests = 2000, kHostThreads = 3;

bool ok(asdnorm_status st, const char *what)
{
    if (st != ASDNORM_OK)
        std::fprintf(stderr, "%s: %s\n", what, asdnorm_strerror(st));
    return st == ASDNORM_OK;
}

std::vector<float> gaussian(size_t n, unsigned seed)
{
    std::mt19937 gen(seed);
    std::normal_distribution<float> dist;
    std::vector<float> v(n * kDim);
    for (float &x : v)
        x = dist(gen);
    return v;
}

// The host's own work: products of two fixed 256 × 256 matrices until told to
// stop; counts products that differ from the first and BLAS settings that moved.
struct HostBlas {
    std::atomic<bool> stop{false};
    long products = 0, wrong = 0, setting_changed = 0;

    void run()
    {
        constexpr int n = 256;
        std::vector<float> a(n * n), b(n * n), c(n * n), first(n * n);
        for (int i = 0; i < n * n; i++) {
            a[i] = std::sin(0.1f * (float)i);
            b[i] = std::cos(0.3f * (float)i);
        }
        const int setting = openblas_get_num_threads ? openblas_get_num_threads() : 0;
        while (!stop.load()) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n,
                        b.data(), n, 0.0f, c.data(), n);
            if (products++ == 0)
                first = c;
            else if (std::memcmp(c.data(), first.data(), sizeof(float) * c.size()) != 0)
                wrong++;
            if (openblas_get_num_threads && openblas_get_num_threads() != setting)
                setting_changed++;
        }
    }
};

} // namespace

int main()
{
    const std::vector<float> refs = gaussian(kRefs, 1), tests = gaussian(kTests, 2);

    HostBlas host;
    std::thread blas_thread([&host] { host.run(); });

    // The index, finalized on 2 of the library's threads.
    asdnorm_index *ix = nullptr;
    bool good = ok(asdnorm_index_new(kDim, ASDNORM_DISTANCE_COSINE, &ix), "index_new") &&
                ok(asdnorm_index_set_threads(ix, 2), "index_set_threads") &&
                ok(asdnorm_index_add(ix, refs.data(), kRefs, nullptr), "index_add") &&
                ok(asdnorm_index_finalize(ix, ASDNORM_DENSITY_KNN, 16), "finalize");

    // The reference result: one call, on the calling thread alone.
    std::vector<float> want(kTests), got(kTests);
    asdnorm_scorer *sc = nullptr;
    good = good && ok(asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &sc), "scorer_new") &&
           ok(asdnorm_scorer_set_threads(sc, 1), "scorer_set_threads") &&
           ok(asdnorm_scorer_score(sc, tests.data(), kTests, want.data(), nullptr), "score");
    asdnorm_scorer_free(sc);

    // The host's threads: a scorer of 1 thread each, one range of rows each.
    std::vector<std::thread> workers;
    std::vector<asdnorm_status> status(kHostThreads, ASDNORM_E_STATE);
    for (size_t t = 0; good && t < kHostThreads; t++)
        workers.emplace_back([&, t] {
            const size_t first = kTests * t / kHostThreads, last = kTests * (t + 1) / kHostThreads;
            asdnorm_scorer *mine = nullptr;
            asdnorm_status st = asdnorm_scorer_new(ix, ASDNORM_NORM_RATIO, &mine);
            if (st == ASDNORM_OK)
                st = asdnorm_scorer_set_threads(mine, 1);
            if (st == ASDNORM_OK)
                st = asdnorm_scorer_score(mine, tests.data() + first * kDim, last - first,
                                          got.data() + first, nullptr);
            asdnorm_scorer_free(mine);
            status[t] = st;
        });
    for (std::thread &w : workers)
        w.join();
    for (size_t t = 0; good && t < kHostThreads; t++)
        good = ok(status[t], "host thread's score");

    host.stop = true;
    blas_thread.join();
    asdnorm_index_free(ix);

    const bool same = good && got == want;
    std::printf("host: %ld products of its own (%ld wrong, BLAS setting changed %ld times); "
                "%zu scores on %zu host threads %s one call's\n",
                host.products, host.wrong, host.setting_changed, kTests, kHostThreads,
                same ? "equal to" : "DIFFER from");
    return good && same && host.wrong == 0 && host.setting_changed == 0 ? 0 : 1;
}
