"""duoduo-sync-orders: run one PDD order sync pass and exit.

    duoduo-sync-orders -c trytond.conf -d DB [--since ISO-DATETIME]

Reads the orders PDD changed since the last sync (the watermark minus the
overlap set in PDD Settings; the first time, the last 24 hours), in windows
of at most 24 hours, exactly as the cron job does, and prints one line:
the window read and the orders created and updated. --since reads from
that time instead (ISO 8601; without an offset it is UTC, e.g.
2024-05-01T08:00:00+08:00 or 2024-05-01 00:00). PDD keeps 90 days.

Exit status 0 when the pass succeeded; 1 when it failed or another sync
was running, with the reason on stderr."""
import argparse
import datetime as dt
import logging
import sys


def parse_since(value):
    "An ISO 8601 date-time as the naive UTC datetime Tryton stores"
    try:
        since = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date-time: {value!r}")
    if since.tzinfo is not None:
        since = since.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return since


def sync(config_file, database, since=None):
    """One increment pass; (ok, message)"""
    from trytond import config
    if config_file:
        config.update_etc(config_file)
    from trytond.pool import Pool
    from trytond.transaction import Transaction

    if database not in Pool.database_list():
        Pool.start()
        pool = Pool(database)
        with Transaction().start(database, 0, readonly=True):
            pool.init()
    with Transaction().start(database, 0) as transaction:
        Sync = Pool(database).get('duoduo.pdd.order.sync')
        run_id = Sync.run_increment(since=since, kind='manual')
        if run_id is None:
            return False, ("skipped: another order sync is running; "
                "try again when it has finished")
        # the pass committed in transactions of its own: read it afresh
        with transaction.new_transaction(readonly=True):
            run = Sync(run_id)
            if run.state != 'done':
                return False, f"{run.summary()}\nerror: {run.error}"
            return True, run.summary()


def main(argv=None):
    parser = argparse.ArgumentParser(prog='duoduo-sync-orders',
        description=__doc__.splitlines()[0].split(': ', 1)[1])
    parser.add_argument('-c', '--config', required=True,
        help='trytond configuration file')
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--since', type=parse_since,
        help='read PDD updates from this ISO 8601 date-time (UTC unless '
        'it has an offset) instead of the last sync')
    parser.add_argument('-v', '--verbose', action='store_true',
        help='log each window')
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    try:
        ok, message = sync(args.config, args.database, args.since)
    except Exception as error:
        logging.getLogger('duoduo-sync-orders').debug(
            "sync failed", exc_info=True)
        ok, message = False, f"{type(error).__name__}: {error}"
    if ok:
        print(message)
        return 0
    print(message, file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
