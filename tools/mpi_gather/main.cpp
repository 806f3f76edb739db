// pgc_mpi_gather: the MPI side of `pgc bench`'s gather comparison. Rank 0 plays the parameter
// server, ranks 1..N the workers, each holding one vector of d doubles (an encoded vector with
// ell = 1). It times MPI_Gather (root in place, so exactly N vectors move) and MPI_Reduce (sum)
// of the same bytes, each preceded by a barrier, and prints one JSON line on rank 0:
//   {"ranks":9,"d":1000000,"iterations":5,"gather_s":[...],"reduce_s":[...]}
// Usage: mpirun -np N+1 pgc_mpi_gather --d D [--iterations I] [--warmup W]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mpi.h>
#include <string>
#include <vector>

namespace {

struct options {
  long long d = 0;
  int iterations = 5;
  int warmup = 1;
};

bool parse_count(const char* text, long long& out) {
  char* end = nullptr;
  // Accepts "1e6" as well as "1000000".
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v >= 1) || v > 1e12) return false;
  out = static_cast<long long>(v);
  return static_cast<double>(out) == v;
}

bool parse(int argc, char** argv, options& o, std::string& why) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      why = "option " + arg + " needs a value";
      return false;
    }
    long long v = 0;
    if (!parse_count(argv[++i], v)) {
      why = "option " + arg + ": '" + argv[i] + "' is not a positive integer";
      return false;
    }
    if (arg == "--d") {
      o.d = v;
    } else if (arg == "--iterations") {
      o.iterations = static_cast<int>(v);
    } else if (arg == "--warmup") {
      o.warmup = static_cast<int>(v);
    } else {
      why = "unknown option " + arg;
      return false;
    }
  }
  if (o.d <= 0) why = "--d is required";
  return why.empty();
}

void print_times(const char* name, const std::vector<double>& times) {
  std::printf("\"%s\":[", name);
  for (std::size_t i = 0; i < times.size(); ++i)
    std::printf("%s%.9g", i == 0 ? "" : ",", times[i]);
  std::printf("]");
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  int ranks = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  options o;
  std::string why;
  if (!parse(argc, argv, o, why) || ranks < 2) {
    if (rank == 0) {
      std::fprintf(stderr, "pgc_mpi_gather: %s\n",
                   why.empty() ? "needs at least 2 ranks (root and one worker)" : why.c_str());
    }
    MPI_Finalize();
    return 2;
  }
  if (o.d > (1LL << 31) - 1) {
    if (rank == 0) std::fprintf(stderr, "pgc_mpi_gather: --d exceeds an MPI count\n");
    MPI_Finalize();
    return 2;
  }
  const int d = static_cast<int>(o.d);
  // Distinct contents per rank, so nothing can be shortcut; the root's slot stays in place.
  std::vector<double> mine(static_cast<std::size_t>(d), 1.0 + rank);
  std::vector<double> all;
  std::vector<double> sum;
  if (rank == 0) {
    all.assign(static_cast<std::size_t>(d) * static_cast<std::size_t>(ranks), 0.0);
    sum.assign(static_cast<std::size_t>(d), 0.0);
    std::fill(mine.begin(), mine.end(), 0.0);  // the root adds nothing to the reduction
  }
  std::vector<double> gather_s;
  std::vector<double> reduce_s;
  for (int it = 0; it < o.warmup + o.iterations; ++it) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (rank == 0) {
      MPI_Gather(MPI_IN_PLACE, d, MPI_DOUBLE, all.data(), d, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    } else {
      MPI_Gather(mine.data(), d, MPI_DOUBLE, nullptr, d, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    }
    double t1 = MPI_Wtime();
    if (it >= o.warmup) gather_s.push_back(t1 - t0);

    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    MPI_Reduce(mine.data(), rank == 0 ? sum.data() : nullptr, d, MPI_DOUBLE, MPI_SUM, 0,
               MPI_COMM_WORLD);
    t1 = MPI_Wtime();
    if (it >= o.warmup) reduce_s.push_back(t1 - t0);
  }
  if (rank == 0) {
    // Check what arrived: slot r holds 1 + r, the sum is sum_{r >= 1} (1 + r).
    bool ok = true;
    for (int r = 1; r < ranks; ++r)
      ok = ok && all[static_cast<std::size_t>(r) * static_cast<std::size_t>(d)] == 1.0 + r;
    const double expected = static_cast<double>(ranks - 1) * (ranks + 2) / 2.0;
    ok = ok && sum[0] == expected && sum[static_cast<std::size_t>(d) - 1] == expected;
    std::printf("{\"ranks\":%d,\"d\":%d,\"iterations\":%d,\"ok\":%s,", ranks, d, o.iterations,
                ok ? "true" : "false");
    print_times("gather_s", gather_s);
    std::printf(",");
    print_times("reduce_s", reduce_s);
    std::printf("}\n");
    std::fflush(stdout);
  }
  MPI_Finalize();
  return 0;
}
