// pgc rank (the ranks of an mpirun/srun job, simulated with their environment variables) and
// pgc launch --hostfile (its parsing and, through --dry-run, the exact ssh command lines).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "run_pgc.hpp"

using pgc::test::run_pgc;
using pgc::test::slurp;

namespace {

// Sets environment variables for the pgc processes a test starts; restores them after.
class scoped_env {
 public:
  explicit scoped_env(std::vector<std::pair<std::string, std::string>> values) {
    for (auto& [name, value] : values) {
      const char* old = std::getenv(name.c_str());
      saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
      ::setenv(name.c_str(), value.c_str(), 1);
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;
  ~scoped_env() {
    for (auto& [name, old] : saved_) {
      if (old) {
        ::setenv(name.c_str(), old->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

std::string scratch(const std::string& name) {
  return std::string(PGC_BINARY_DIR) + "/tests/deploy-" + std::to_string(::getpid()) + "-" + name;
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = scratch(name);
  std::ofstream(path) << text;
  return path;
}

// Every rank of a job of `size` as its own process, as a launcher would start them; returns
// the exit codes and fills `logs` with what each printed.
std::vector<int> run_ranks(int size, const std::string& rank_var, const std::string& size_var,
                           const std::string& args, std::vector<std::string>& logs) {
  std::string script;
  for (int r = 0; r < size; ++r) {
    const std::string log = scratch("rank" + std::to_string(r) + ".log");
    script += "(env " + rank_var + "=" + std::to_string(r) + " " + size_var + "=" +
              std::to_string(size) + " timeout 60 " + PGC_EXE + " rank " + args + " </dev/null >" +
              log + " 2>&1; echo $? >" + log + ".rc) & ";
  }
  script += "wait";
  REQUIRE(std::system(script.c_str()) == 0);
  std::vector<int> codes;
  logs.clear();
  for (int r = 0; r < size; ++r) {
    const std::string log = scratch("rank" + std::to_string(r) + ".log");
    logs.push_back(slurp(log));
    codes.push_back(std::atoi(slurp(log + ".rc").c_str()));
    std::remove(log.c_str());
    std::remove((log + ".rc").c_str());
  }
  return codes;
}

}  // namespace

TEST_CASE(
    "pgc rank turns rank 0 into the PS and the others into workers through a rendezvous file") {
  for (const auto& [rank_var, size_var] :
       {std::pair<std::string, std::string>{"PMI_RANK", "PMI_SIZE"},
        {"SLURM_PROCID", "SLURM_NTASKS"},
        {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}}) {
    CAPTURE(rank_var);
    const std::string file = scratch("rendezvous");
    std::vector<std::string> logs;
    const auto codes = run_ranks(4, rank_var, size_var,
                                 "--listen 127.0.0.1:0 --rendezvous " + file +
                                     " --load 2 --iterations 3 --dim 16 --samples 900 --verify",
                                 logs);
    for (int r = 0; r < 4; ++r) {
      INFO("rank " << r << ":\n" << logs[static_cast<std::size_t>(r)]);
      CHECK(codes[static_cast<std::size_t>(r)] == 0);
    }
    CHECK(logs[0].find("N = 3") != std::string::npos);
    CHECK(logs[0].find("written to " + file) != std::string::npos);
    CHECK(logs[0].find("3 iterations, max relative error") != std::string::npos);
    CHECK(logs[0].find(", verified") != std::string::npos);
    CHECK(logs[2].find("worker w1 connects to 127.0.0.1:") != std::string::npos);
    // Rank 0 removes the file at the end: the next job cannot pick up a stale address.
    CHECK(::access(file.c_str(), F_OK) != 0);
  }
}

TEST_CASE("pgc rank ignores a rendezvous file of another job and says so when it gives up") {
  const std::string file = write_file("stale", "127.0.0.1:1\njob 42\n");
  const scoped_env env({{"PMI_RANK", "2"}, {"PMI_SIZE", "3"}, {"PMI_KVSNAME", "kvs_7"}});
  const auto r = run_pgc("rank --load 2 --rendezvous " + file + " --rendezvous-timeout 0.3");
  std::remove(file.c_str());
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("rank 2 of 3 (PMI_RANK/PMI_SIZE): no PS address in '" + file +
                   "' after 0.3 s") != std::string::npos);
  CHECK(r.err.find("another job (42, this one is kvs_7)") != std::string::npos);
}

TEST_CASE("pgc rank times out with a clear error when no rendezvous file appears") {
  const scoped_env env({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "3"}});
  const auto r =
      run_pgc("rank --load 2 --rendezvous " + scratch("never") + " --rendezvous-timeout 0.2");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("rank 1 of 3 (SLURM_PROCID/SLURM_NTASKS): no PS address") != std::string::npos);
  CHECK(r.err.find("did rank 0 fail") != std::string::npos);
}

TEST_CASE("pgc rank rejects a bad environment and bad arguments with exit code 2") {
  {
    const auto r = run_pgc("rank --ps 127.0.0.1:7000");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("not started by mpirun or srun") != std::string::npos);
  }
  {
    const scoped_env env({{"PMI_RANK", "3"}, {"PMI_SIZE", "3"}});
    const auto r = run_pgc("rank --ps 127.0.0.1:7000");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("PMI_RANK=3 is not below PMI_SIZE=3") != std::string::npos);
  }
  {
    const scoped_env env({{"PMI_RANK", "0"}, {"PMI_KVSNAME", "kvs_1"}});
    const auto r = run_pgc("rank --ps 127.0.0.1:7000");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("PMI_RANK is set but PMI_SIZE is not") != std::string::npos);
  }
  const scoped_env env({{"PMI_RANK", "1"}, {"PMI_SIZE", "5"}});
  {
    const auto r = run_pgc("rank --workers 8 --ps 127.0.0.1:7000");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--workers 8 does not match the job: 5 ranks are a PS and 4 workers") !=
          std::string::npos);
  }
  {
    const auto r = run_pgc("rank --load 2");
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("exactly one of --ps HOST:PORT and --rendezvous FILE") != std::string::npos);
  }
}

TEST_CASE("pgc launch refuses to run as one of several mpirun ranks") {
  const scoped_env env({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "4"}});
  const auto r = run_pgc("launch --workers 2 --load 2");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("every rank would start a cluster of its own; use pgc rank") !=
        std::string::npos);
}

TEST_CASE("pgc launch --hostfile --dry-run prints the exact ssh command of every worker") {
  const std::string hosts = write_file("hosts",
                                       "# the lab\n"
                                       "node-a slots=2\n"
                                       "\n"
                                       "10.0.0.7   # one worker\n"
                                       "node-c slots=4\n");
  const auto r = run_pgc("launch --hostfile " + hosts +
                         " --dry-run --workers 4 --load 2 --iterations 3 --dim 16 --samples 800 "
                         "--listen 0.0.0.0:7000 --advertise ps.lab --slow 1 --slowdown 3 "
                         "--remote-pgc '/opt/pgc tools/bin/pgc' --ssh 'ssh -p 2222'");
  std::remove(hosts.c_str());
  INFO(r.out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("pgc launch: dry run, nothing started\n[ps] ") == 0);
  CHECK(r.out.find(" ps --listen 0.0.0.0:7000 --workers 4 --load 2 ") != std::string::npos);
  const std::string common =
      " --chunks 4 --heartbeat-ms 200 --workload synthetic --dim 16 --samples 800 --data-seed 1 "
      "--noise 0.01";
  const auto worker = [&](int w, const std::string& host, const std::string& extra) {
    return "[w" + std::to_string(w) + "] ssh -p 2222 " + host +
           " 'exec '\\''/opt/pgc tools/bin/pgc'\\'' worker --connect ps.lab:7000 --name w" +
           std::to_string(w) + " --id " + std::to_string(w) + common + extra + "'\n";
  };
  // Filled in file order up to each host's slots; the one slow worker is w0.
  CHECK(r.out.find(worker(0, "node-a", " --slowdown 3")) != std::string::npos);
  CHECK(r.out.find(worker(1, "node-a", "")) != std::string::npos);
  CHECK(r.out.find(worker(2, "10.0.0.7", "")) != std::string::npos);
  CHECK(r.out.find(worker(3, "node-c", "")) != std::string::npos);
}

TEST_CASE("pgc launch --hostfile rejects bad files and unreachable addresses with exit code 2") {
  const auto launch = [](const std::string& text, const std::string& args) {
    const std::string hosts = write_file("bad-hosts", text);
    auto r = run_pgc("launch --hostfile " + hosts + " --dry-run --workers 3 --load 2 " + args);
    std::remove(hosts.c_str());
    CHECK(r.exit_code == 2);
    return r.err;
  };
  const std::string listen = "--listen 0.0.0.0:7000 --advertise ps";
  CHECK(launch("a\nb slots=0\n", listen)
            .find("-bad-hosts:2: 'slots=0': K must be a positive "
                  "integer") != std::string::npos);
  CHECK(launch("a cores=2\n", listen).find(":1: unknown 'cores=2' (expected slots=K)") !=
        std::string::npos);
  CHECK(launch("-oProxyCommand=x\n", listen).find("is not a host name") != std::string::npos);
  CHECK(launch("# nothing\n", listen).find(": no hosts") != std::string::npos);
  CHECK(launch("a slots=2\n", listen).find("the hostfile has 2 slots for 3 workers") !=
        std::string::npos);
  CHECK(launch("a slots=3\n", "--listen 0.0.0.0:0").find("needs a fixed --listen port") !=
        std::string::npos);
  CHECK(launch("a slots=3\n", "--listen 127.0.0.1:7000").find("cannot be reached from a") !=
        std::string::npos);
  const auto r = run_pgc("launch --dry-run --workers 3 --load 2");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--dry-run needs --hostfile") != std::string::npos);
}
