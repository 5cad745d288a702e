# Sourced by .ci/run: make a Docker engine answer and a local base image exist, so the
# Docker tests run for real. No registry is reachable here, so the base image is built
# with debootstrap from the Debian mirror apt already uses (../shared/notes/docker-engine.md).
#
# Exports TASKBENCH_BASE_IMAGE, TASKBENCH_CA_BUNDLE (when the host has one) and
# TASKBENCH_REQUIRE_DOCKER=1. A dockerd that already answers is reused and never stopped;
# one started here is stopped by `taskbench_docker_stop` (also run on the caller's EXIT
# unless TASKBENCH_KEEP_DOCKERD=1). Safe to source twice.

TASKBENCH_CI_DIR="${TASKBENCH_CI_DIR:-/var/tmp/taskbench-ci}"
TASKBENCH_BASE_TAG="${TASKBENCH_BASE_TAG:-taskbench-base:bookworm}"
export TASKBENCH_CI_DIR

_tb_now() { date +%s%N; }
_tb_phase() { # _tb_phase START_NS "what happened"
    local ms=$((($(_tb_now) - $1) / 1000000))
    printf 'docker-setup: %-46s %4d.%01ds\n' "$2" $((ms / 1000)) $((ms % 1000 / 100))
}
_tb_fail() { echo "docker-setup: FAILED: $*" >&2; return 1; }

_tb_mirror() {
    local uri
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    echo "${uri:-http://deb.debian.org/debian}"
}

_tb_install_engine() {
    local t0
    t0=$(_tb_now)
    if command -v dockerd >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1; then
        _tb_phase "$t0" "engine packages present"
        return 0
    fi
    if ! {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            docker.io debootstrap
    } >"$TASKBENCH_CI_DIR/apt.log" 2>&1; then
        tail -n 20 "$TASKBENCH_CI_DIR/apt.log" >&2
        _tb_fail "apt-get could not install docker.io and debootstrap (log: $TASKBENCH_CI_DIR/apt.log)"
        return 1
    fi
    _tb_phase "$t0" "engine packages installed (docker.io)"
}

_tb_start_engine() {
    local t0 pid deadline=$((SECONDS + 60))
    t0=$(_tb_now)
    if docker info >/dev/null 2>&1; then
        _tb_phase "$t0" "engine already answering, reused"
        return 0
    fi
    # nohup execs, so $! is dockerd itself; dockerd also writes that PID to --pidfile.
    # shellcheck disable=SC2086  # TASKBENCH_DOCKERD_ARGS is a list of flags on purpose
    nohup dockerd --pidfile "$TASKBENCH_CI_DIR/dockerd.pid" ${TASKBENCH_DOCKERD_ARGS:-} \
        >"$TASKBENCH_CI_DIR/dockerd.log" 2>&1 </dev/null &
    pid=$!
    until docker info >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$TASKBENCH_CI_DIR/dockerd.log" >&2
            _tb_fail "dockerd exited during start-up (log: $TASKBENCH_CI_DIR/dockerd.log)"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 20 "$TASKBENCH_CI_DIR/dockerd.log" >&2
            taskbench_docker_stop "$pid"
            _tb_fail "dockerd did not answer within 60 s (log: $TASKBENCH_CI_DIR/dockerd.log)"
            return 1
        fi
        sleep 0.1
    done
    if [ "${TASKBENCH_KEEP_DOCKERD:-0}" != 1 ]; then
        # Chain onto any EXIT trap the caller already has rather than replace it.
        local previous
        previous=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
        # shellcheck disable=SC2064
        trap "taskbench_docker_stop $pid; ${previous:-:}" EXIT
    fi
    _tb_phase "$t0" "dockerd started (pid $pid)"
}

# Stop the dockerd this script started (by its PID file, or the PID given) and nothing else.
taskbench_docker_stop() {
    local pidfile="$TASKBENCH_CI_DIR/dockerd.pid" pid="${1:-}" i
    if [ -z "$pid" ]; then
        [ -f "$pidfile" ] || return 0
        pid=$(cat "$pidfile")
    fi
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# Like Debian's official slim images: no documentation, manuals or translations, now or
# in packages installed later, and no apt caches.
_tb_slim_rootfs() {
    local rootfs=$1
    mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/taskbench-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
SLIM
    cat >"$rootfs/etc/apt/apt.conf.d/taskbench-slim" <<'SLIM'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
SLIM
    find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete 2>/dev/null
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
        "$rootfs"/usr/share/lintian/* "$rootfs"/var/cache/apt/archives/*.deb \
        "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
    return 0
}

_tb_base_image() {
    local t0 rootfs mirror
    t0=$(_tb_now)
    if docker image inspect "$TASKBENCH_BASE_TAG" >/dev/null 2>&1; then
        _tb_phase "$t0" "base image $TASKBENCH_BASE_TAG present"
        return 0
    fi
    mirror=$(_tb_mirror)
    rootfs=$(mktemp -d "${TMPDIR:-/tmp}/taskbench-rootfs.XXXXXX")
    if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" \
            >"$TASKBENCH_CI_DIR/debootstrap.log" 2>&1; then
        tail -n 20 "$TASKBENCH_CI_DIR/debootstrap.log" >&2
        rm -rf "$rootfs"
        _tb_fail "debootstrap from $mirror failed (log: $TASKBENCH_CI_DIR/debootstrap.log)"
        return 1
    fi
    _tb_slim_rootfs "$rootfs"
    if ! tar -C "$rootfs" -c . | docker import \
            --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
            - "$TASKBENCH_BASE_TAG" >/dev/null; then
        rm -rf "$rootfs"
        _tb_fail "docker import of the debootstrap root file system failed"
        return 1
    fi
    rm -rf "$rootfs"
    _tb_phase "$t0" "base image $TASKBENCH_BASE_TAG built"
}

_tb_docker_setup() {
    # Every step writes its log here, whichever earlier step was skipped (an engine or image already there).
    mkdir -p "$TASKBENCH_CI_DIR" || { _tb_fail "cannot create $TASKBENCH_CI_DIR for the set-up logs"; return 1; }
    _tb_install_engine && _tb_start_engine && _tb_base_image || return 1
    export TASKBENCH_BASE_IMAGE="$TASKBENCH_BASE_TAG"
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
        export TASKBENCH_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
    fi
    export TASKBENCH_REQUIRE_DOCKER=1
}

_tb_docker_setup
