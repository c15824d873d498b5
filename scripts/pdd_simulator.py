"""duoduo-pdd-simulator: run the loopback PDD gateway in the foreground.

    duoduo-pdd-simulator [--host 127.0.0.1] [--port 8001]
        [--client-id duoduo-sim] [--client-secret duoduo-sim-secret]
        [--demo-orders] [--bind-default-pid] [--public-url URL]
        [--state FILE]

For `make demo`: point trytond.conf `[duoduo_pdd]` gateway_url,
authorize_url, client_id, client_secret and pid at what it prints. Stop it
with Ctrl-C. With --state its PIDs, orders, 备案 bindings and tokens are
kept in a JSON file, written on every change and read at start, so a
restart (another `make demo`) finds them again. Its control endpoints (not part of PDD) live under
/_simulator/: POST orders, POST orders/<order_sn>/status, POST advance,
POST bind, GET state."""
import argparse
import json
import signal
import sys
import threading


def main(argv=None):
    from duoduo_simulators.pdd import PddSimulator

    parser = argparse.ArgumentParser(prog='duoduo-pdd-simulator',
        description='Loopback Pinduoduo open-platform gateway (demo/tests)')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8001)
    parser.add_argument('--client-id', default='duoduo-sim')
    parser.add_argument('--client-secret', default='duoduo-sim-secret')
    parser.add_argument('--seed', type=int, default=20231201,
        help='catalog seed (same seed, same goods)')
    parser.add_argument('--public-url',
        help='base URL browsers reach this server at, for the links it '
        'hands out (default http://HOST:PORT)')
    parser.add_argument('--demo-orders', action='store_true',
        help='place a few orders on the default PID that move on by '
        'themselves over the next 15 minutes')
    parser.add_argument('--bind-default-pid', action='store_true',
        help='the default PID starts 备案-bound (without custom_parameters)')
    parser.add_argument('--state', metavar='FILE',
        help='keep the state (PIDs, orders, bindings, tokens) in this JSON '
        'file across restarts')
    args = parser.parse_args(argv)

    sim = PddSimulator(client_id=args.client_id,
        client_secret=args.client_secret, seed=args.seed,
        host=args.host, port=args.port)
    if args.public_url:
        sim.link_base = args.public_url.rstrip('/')
    if args.state:
        sim.load_state(args.state)
    if args.bind_default_pid:
        sim.bind(sim.pid)
    if args.demo_orders:
        sim.demo_orders()
    sim.save_state()
    sim.start()
    print('PDD open-platform simulator (NOT the real Pinduoduo)')
    print(json.dumps({
                'gateway_url': sim.gateway_url,
                'authorize_url': sim.authorize_url,
                'client_id': sim.client_id,
                'client_secret': sim.client_secret,
                'pid': sim.pid,
                'control': f'{sim.url}/_simulator/state',
                }, ensure_ascii=False, indent=2))
    sys.stdout.flush()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        sim.save_state()
    return 0


if __name__ == '__main__':
    sys.exit(main())
