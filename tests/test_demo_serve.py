"""bin/demo-serve stops every process it started: when trytond ends (a
SIGTERM to it), when the script gets SIGTERM or Ctrl-C (SIGINT).

The demo's programs are stood in for by small scripts in a fake VENV that
behave like them where it matters: the scheduler (trytond-cron) has two
workers of its own that outlive it when only it is killed, as its process
pool's do; the simulator listens on its port. Every process writes its id,
and after the stop none of them may be left."""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from pathlib import Path

DEMO_SERVE = Path(__file__).resolve().parent.parent / 'bin' / 'demo-serve'

FAKES = {
    'duoduo-pdd-simulator': f'''#!{sys.executable}
import argparse, os, socket, time
parser = argparse.ArgumentParser()
parser.add_argument('--host')
parser.add_argument('--port', type=int)
parser.add_argument('--client-id')
parser.add_argument('--client-secret')
parser.add_argument('--state')
args = parser.parse_args()
server = socket.create_server((args.host, args.port))
with open(os.path.join(os.environ['MARKS'], 'pids'), 'a') as marks:
    marks.write(f'simulator {{os.getpid()}}\\n')
time.sleep(300)
''',
    'duoduo-demo-data': '#!/bin/sh\nexit 0\n',
    # the workers are left behind when only the scheduler is killed
    'trytond-cron': textwrap.dedent('''\
        #!/bin/sh
        sleep 300 &
        echo "worker $!" >> "$MARKS/pids"
        sleep 300 &
        echo "worker $!" >> "$MARKS/pids"
        echo "cron $$" >> "$MARKS/pids"
        wait
        '''),
    'trytond': textwrap.dedent('''\
        #!/bin/sh
        echo "trytond $$" >> "$MARKS/pids"
        exec sleep 300
        '''),
    }


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def running(pid):
    "Whether the process runs (a zombie waiting for its parent does not)"
    try:
        status = Path(f'/proc/{pid}/status').read_text()
    except FileNotFoundError:
        return False
    state = next(line for line in status.splitlines()
        if line.startswith('State:'))
    return 'zombie' not in state


class DemoServeTestCase(unittest.TestCase):

    def setUp(self):
        self.directory = Path(self.enterContext(
                tempfile.TemporaryDirectory()))
        venv = self.directory / 'venv'
        (venv / 'bin').mkdir(parents=True)
        for name, text in FAKES.items():
            path = venv / 'bin' / name
            path.write_text(text)
            path.chmod(0o755)
        (venv / 'bin' / 'python').symlink_to(sys.executable)
        self.marks = self.directory / 'marks'
        self.marks.mkdir()
        env = dict(os.environ, VENV=str(venv), MARKS=str(self.marks),
            SIMULATOR_PORT=str(free_port()),
            TRYTOND_DATABASE__PATH=str(self.directory / 'var'))
        # a session of its own: nothing sent to it reaches pytest; Ctrl-C
        # acts as in a terminal even where pytest runs with SIGINT ignored
        # (a shell cannot trap a signal ignored when it starts)
        with (self.directory / 'stderr').open('wb') as stderr:
            self.process = subprocess.Popen([str(DEMO_SERVE)], env=env,
                cwd=self.directory, start_new_session=True,
                preexec_fn=lambda: signal.signal(
                    signal.SIGINT, signal.SIG_DFL),
                stdout=subprocess.DEVNULL, stderr=stderr)
        self.addCleanup(self.kill_all)
        self.pids = self.wait_for_all()

    def wait_for_all(self):
        "{name: [pid, ...]} once the five processes run"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            path = self.marks / 'pids'
            if path.exists():
                lines = path.read_text().splitlines()
                if len(lines) == 5:
                    pids = {}
                    for line in lines:
                        name, pid = line.split()
                        pids.setdefault(name, []).append(int(pid))
                    return pids
            self.assertIsNone(self.process.poll(),
                (self.directory / 'stderr').read_text())
            time.sleep(0.1)
        self.fail("the demo's processes did not all start")

    def kill_all(self):
        "Whatever a failed test leaves behind"
        for pids in getattr(self, 'pids', {}).values():
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def assertAllStopped(self):
        self.process.wait(timeout=20)
        deadline = time.monotonic() + 10
        left = None
        while time.monotonic() < deadline:
            left = {name: pid for name, pids in self.pids.items()
                for pid in pids if running(pid)}
            if not left:
                break
            time.sleep(0.1)
        self.assertEqual(left, {})

    def test_trytond_terminated(self):
        "trytond gets SIGTERM: the simulator and the scheduler stop too"
        self.assertEqual(len(self.pids['worker']), 2)
        os.kill(self.pids['trytond'][0], signal.SIGTERM)
        self.assertAllStopped()

    def test_script_terminated(self):
        os.kill(self.process.pid, signal.SIGTERM)
        self.assertAllStopped()
        self.assertEqual(self.process.returncode, 143)

    def test_interrupted(self):
        "Ctrl-C"
        os.kill(self.process.pid, signal.SIGINT)
        self.assertAllStopped()
        self.assertEqual(self.process.returncode, 130)
