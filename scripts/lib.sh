# shellcheck shell=bash
# Shell helpers shared by scripts/ and .ci/run. Sourced, never run:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Every function assumes `set -euo pipefail` in the caller and the current
# directory at the root of the clone (regledger_enter_root does that).

# The Debian 12 packages regledger needs to build, test and run.
# shellcheck disable=SC2034  # used by the scripts that source this file
regledger_packages=(
  librdkafka-dev librocksdb-dev libflatbuffers-dev flatbuffers-compiler libfmt-dev
  libboost1.81-dev libboost-json1.81-dev doctest-dev pkgconf cmake ninja-build g++ git
  libssl-dev libpq-dev postgresql default-jdk-headless maven python3 kcat curl
)

# A compile of this project peaks below 1 GiB (more under the sanitizers);
# budget this much available memory per parallel job.
regledger_memory_per_job_kib=$((1536 * 1024))

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

regledger_enter_root() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.." || die "cannot enter the clone's root"
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [[ ${EUID} -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "'$*' needs root: run as root, or install sudo"
  fi
}

# Prints the packages of the arguments that are not installed, one a line.
missing_packages() {
  local p
  for p in "$@"; do
    if [[ "$(dpkg-query -W -f='${Status}' "${p}" 2>/dev/null || true)" != "install ok installed" ]]; then
      echo "${p}"
    fi
  done
}

# Installs the packages when any is missing; does nothing (no apt at all)
# when every one is installed already.
install_packages() {
  local missing
  missing="$(missing_packages "$@")"
  if [[ -z "${missing}" ]]; then
    echo "all ${#} packages are installed already"
    return 0
  fi
  echo "missing: $(tr '\n' ' ' <<<"${missing}")"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 update </dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 install -y --no-install-recommends \
    "$@" </dev/null
  missing="$(missing_packages "$@")"
  [[ -z "${missing}" ]] || die "still not installed after apt-get install: ${missing}"
}

# Parallel build jobs: every core, but no more than available memory allows.
build_jobs() {
  local cores available_kib jobs
  cores="$(nproc)"
  available_kib="$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)"
  jobs=$(( available_kib / regledger_memory_per_job_kib ))
  if (( jobs > cores )); then jobs=${cores}; fi
  if (( jobs < 1 )); then jobs=1; fi
  echo "${jobs}"
}

# configure DIR [CMAKE_ARGS...]: configures DIR with Ninja in RelWithDebInfo
# on first use; later runs keep the directory's generator and build type and
# only apply CMAKE_ARGS.
configure() {
  local dir="$1"
  shift
  if [[ -f "${dir}/CMakeCache.txt" ]]; then
    cmake -S . -B "${dir}" "$@"
  else
    cmake -S . -B "${dir}" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  fi
}

# build DIR: builds everything in DIR (configured already).
build() {
  local jobs
  jobs="$(build_jobs)"
  echo "building ${1} with ${jobs} parallel jobs"
  cmake --build "$1" --parallel "${jobs}"
}
