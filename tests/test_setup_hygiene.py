"""Facts of the set-up that keep a machine safe: credentials, database roles, services bound to localhost.

These check what ``setup_profile.sh --test-db`` (run by ``run_tests.sh``) left on this machine.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import pathlib
import stat
import subprocess

import psycopg
import pytest

from .conftest import LIMLIP_HOME, read_test_db_credentials

REPO = pathlib.Path(__file__).parent.parent


def host_name_is_loopback() -> bool:
    """Whether this machine's short host name resolves to a loopback address (then epmd and the node's distribution
    port are bound to loopback too; the CLI tools reach the node through that name)."""
    import socket

    try:
        return ipaddress.ip_address(socket.gethostbyname(socket.gethostname().split('.')[0])).is_loopback
    except OSError:
        return False


#: Services that must listen on localhost only (as set up by setup_profile.sh; Slurm with --slurm).
SERVICE_PORTS = {5432: 'PostgreSQL', 5672: 'RabbitMQ (AMQP)', 6817: 'slurmctld', 6818: 'slurmd'}
if host_name_is_loopback():
    SERVICE_PORTS.update({4369: 'epmd (RabbitMQ)', 25672: 'RabbitMQ (Erlang distribution)'})


def listening_addresses() -> dict[int, set[str]]:
    """Return the local addresses of the listening TCP sockets, by port, from ``/proc/net/tcp`` and ``tcp6``."""
    found: dict[int, set[str]] = {}
    for name, size in (('tcp', 4), ('tcp6', 16)):
        path = pathlib.Path('/proc/net') / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != '0A':  # LISTEN
                continue
            address, port = fields[1].split(':')
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b''.join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.setdefault(int(port, 16), set()).add(str(ipaddress.ip_address(raw[:size])))
    return found


def test_credentials_are_private_and_not_in_the_repository():
    credentials = read_test_db_credentials()
    envfile = pathlib.Path(os.environ.get('LIMLIP_TEST_DB_ENV', LIMLIP_HOME / 'test-db.env'))
    assert stat.S_IMODE(envfile.stat().st_mode) == 0o600
    tracked = subprocess.run(['git', 'ls-files', '-z'], cwd=REPO, capture_output=True, check=True).stdout
    password = credentials['LIMLIP_DB_PASSWORD'].encode()
    for name in tracked.decode().split('\0'):
        path = REPO / name
        if name and path.is_file():
            assert password not in path.read_bytes(), f'the database password is in {name}'


def test_the_database_role_is_this_homes_own_and_not_a_superuser():
    credentials = read_test_db_credentials()
    tag = hashlib.sha256(str(LIMLIP_HOME.resolve()).encode()).hexdigest()[:8]
    assert credentials['LIMLIP_DB_USER'] == f'limlip_test_{tag}'  # another checkout's home gets another role
    with psycopg.connect(
        host=credentials['LIMLIP_DB_HOST'],
        port=int(credentials['LIMLIP_DB_PORT']),
        user=credentials['LIMLIP_DB_USER'],
        password=credentials['LIMLIP_DB_PASSWORD'],
        dbname='postgres',
    ) as connection:
        superuser, createrole = connection.execute(
            'SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user'
        ).fetchone()
    assert not superuser and not createrole


@pytest.mark.parametrize('port', sorted(SERVICE_PORTS))
def test_services_listen_on_localhost_only(port):
    addresses = listening_addresses().get(port)
    if addresses is None:
        pytest.skip(f'nothing listens on {port} ({SERVICE_PORTS[port]}) here')
    exposed = {address for address in addresses if not ipaddress.ip_address(address).is_loopback}
    assert not exposed, f'{SERVICE_PORTS[port]} listens on {exposed}'
