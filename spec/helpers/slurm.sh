#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for the specs that submit sweeps and harvests as job
# arrays (spec/sweep/slurm_real.spec.ts) and for trying `--slurm` by hand. Needs root, no systemd:
#
#   spec/helpers/slurm.sh start    install slurm-wlm and munge from Debian when missing, write the config,
#                                  start munged, slurmctld and slurmd, wait until sinfo shows the node idle
#   spec/helpers/slurm.sh status   sinfo's view; exit status 0 when the node answers
#   spec/helpers/slurm.sh stop     stop the three daemons this script started
#
# `start` is idempotent: when the node already answers it only says so. The configuration is the smallest
# that runs jobs without cgroups (containers have none to delegate): one node named after this host with
# the CPUs and memory `slurmd -C` detects, one partition, ProctrackType=proctrack/linuxproc,
# TaskPlugin=task/none, SelectType=select/cons_tres (cores are the consumable, so tasks of an array share the
# node), no accounting. State, spool, logs and pid files live under $BATCHTOPK_SLURM_DIR
# (default /tmp/batchtopk-slurm); the config goes to /etc/slurm/slurm.conf, where every Slurm command looks,
# and is only ever written over when this script wrote it (a marker line): a real cluster's is left alone.
set -euo pipefail

DIR="${BATCHTOPK_SLURM_DIR:-/tmp/batchtopk-slurm}"
CONF=/etc/slurm/slurm.conf
MARK='# written by batchtopk spec/helpers/slurm.sh'
WAIT_S="${BATCHTOPK_SLURM_WAIT_S:-60}"

die() { echo "slurm.sh: $*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts munged, slurmctld and slurmd); try: sudo $0 $1"
}

install_missing() {
  local missing=()
  command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1 || missing+=(slurm-wlm)
  command -v munged >/dev/null 2>&1 || missing+=(munge)
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "slurm.sh: installing ${missing[*]} from Debian" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The node answers and is usable (idle, mixed or allocated: running jobs is fine).
node_up() {
  local state
  state=$(timeout 10 sinfo -h -N -o '%T' 2>/dev/null | head -n1) || return 1
  # A suffix (* not responding, ~ powered off, # powering up, ! pending power down, % powering down) is not up.
  case "$state" in idle | mixed | allocated | completing) return 0 ;; *) return 1 ;; esac
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
  mkdir -p "$DIR/munge" /etc/munge
  if [ ! -s /etc/munge/munge.key ]; then
    # 1024 random bytes, as mungekey(8) makes them; readable by munged only.
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chmod 0400 /etc/munge/munge.key
  # munged runs as root here: the package's munge user owns nothing under $DIR. --force: it refuses a socket
  # folder that other users could write otherwise (/run/munge is created fresh below, but be explicit).
  chown root:root /etc/munge/munge.key /etc/munge
  chmod 0700 /etc/munge
  mkdir -p /run/munge
  chmod 0755 /run/munge
  if alive "$DIR/munge/munged.pid" && munge -n </dev/null | unmunge >/dev/null 2>&1; then return 0; fi
  munged --force --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" --seed-file="$DIR/munge/munged.seed"
  for _ in $(seq 50); do
    munge -n </dev/null | unmunge >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "munged did not start (log: $DIR/munge/munged.log)"
}

write_conf() {
  if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script: this machine already has a Slurm configuration; use that cluster, or move the file away"
  fi
  local node host
  # e.g. "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  node=$(slurmd -C | head -n1)
  host=$(hostname -s)
  mkdir -p /etc/slurm "$DIR/state" "$DIR/spool" "$DIR/log"
  cat >"$CONF.tmp" <<EOF
$MARK
# A single-node cluster for tests: state under $DIR.
ClusterName=batchtopk
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
MinJobAge=300
$node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

start() {
  need_root start
  if command -v sinfo >/dev/null 2>&1 && node_up; then
    echo "slurm.sh: already up: $(sinfo -h -N -o '%N %T %c CPUs %m MB')"
    return 0
  fi
  install_missing
  start_munge
  write_conf
  alive "$DIR/slurmctld.pid" || slurmctld
  alive "$DIR/slurmd.pid" || slurmd
  local t0=$SECONDS resumed=0
  until node_up; do
    if [ $((SECONDS - t0)) -ge "$WAIT_S" ]; then
      sinfo -N >&2 || true
      tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
      die "the node is not idle after ${WAIT_S}s (logs: $DIR/log)"
    fi
    # A node left down or drained by an earlier run of the daemons comes back on request.
    if [ $resumed = 0 ] && sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(down|drain)'; then
      scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true
      resumed=1
    fi
    sleep 0.5
  done
  echo "slurm.sh: up: $(sinfo -h -N -o '%N %T %c CPUs %m MB')"
}

stop_one() {
  local name=$1 pidfile=$2
  alive "$pidfile" || return 0
  local pid
  pid=$(cat "$pidfile")
  kill "$pid"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { echo "slurm.sh: stopped $name ($pid)"; return 0; }
    sleep 0.1
  done
  die "$name ($pid) did not stop within 10 s"
}

stop() {
  need_root stop
  stop_one slurmd "$DIR/slurmd.pid"
  stop_one slurmctld "$DIR/slurmctld.pid"
  stop_one munged "$DIR/munge/munged.pid"
}

status() {
  command -v sinfo >/dev/null 2>&1 || die "Slurm is not installed (run: $0 start)"
  if node_up; then
    sinfo -N -o '%N %T %c %m %P'
  else
    echo "slurm.sh: the node does not answer (start it: $0 start)" >&2
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
