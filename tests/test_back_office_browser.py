"""The back office works for a person: a staff member opens sao in a browser,
logs in and finds the demo members.

The story, as `make demo` tells it:

1. build a database of our own, on the backend the suite runs on
   (TRYTOND_DATABASE_URI: SQLite unless it names PostgreSQL), with
   trytond-admin and the demo loader;
2. start `trytond` on a free port, serving sao as the web root;
3. in headless Chromium, log in as admin/admin, open 多多客 › 会员
   (Duoduo › Members while the Chinese translation is missing) and read
   the demo members in the list;
4. the demo's PDD part runs against a PDD simulator, as `make demo` does:
   staff open 多多客 › 拼多多 › 拼多多订单 and read the synced orders.

Screenshots are kept, pass or fail, in test-artifacts/back-office-*.png.

Needs Debian's chromium and chromedriver (`bin/ensure-chromium`); the test
fails, and says so, when they are missing."""
import configparser
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

from duoduo_simulators.pdd import PddSimulator
from duoduo_tools.demo import MEMBERS as DEMO_MEMBERS

ROOT = Path(__file__).parents[1]
ARTIFACTS = ROOT / 'test-artifacts'
SAO = ROOT / 'node_modules' / 'tryton-sao'
BIN = Path(sys.executable).parent  # the venv's bin: trytond, trytond-admin...
CHROMIUM = Path('/usr/bin/chromium')
CHROMEDRIVER = Path('/usr/bin/chromedriver')

# on a PostgreSQL server other runs share: named after the run's test
# database (conftest.py names it after the run)
PG_DATABASE = f"{os.environ.get('DB_NAME', 'test_duoduo')}_browser"
SQLITE_DATABASE = 'duoduo_browser_test'

# Labels accepted for the menus: Chinese once the translation is there.
DUODUO_MENU = ('多多客', 'Duoduo')
MEMBERS_MENU = ('会员', 'Members')
PDD_MENU = ('拼多多', 'PDD')
PDD_ORDERS_MENU = ('拼多多订单', 'PDD Orders')
# The demo members (scripts/demo.py). The list shows the newest first and
# sao draws its first 20 rows: the last ones created lead it.
DEMO_NICKNAMES = {nickname for _, nickname, *_ in DEMO_MEMBERS}
NEWEST_DEMO_NICKNAMES = {nickname for _, nickname, *_ in DEMO_MEMBERS[-2:]}

WAIT = 30  # seconds the browser may take for one step (CI has 2 cores)


@pytest.fixture(scope='module', autouse=True)
def chromium_installed():
    "First of all, before building anything: fail, never skip, without it"
    require_chromium()


# --- the database --------------------------------------------------------

@pytest.fixture(scope='module')
def backend():
    uri = os.environ.get('TRYTOND_DATABASE_URI') or 'sqlite://'
    return 'postgresql' if uri.startswith('postgresql') else 'sqlite'


def clean_environ(**extra):
    "The environment without what the suite's conftest sets for in-process tests"
    env = {k: v for k, v in os.environ.items()
        if not k.startswith(('TRYTOND_', 'TRYTON_', 'TRYTONPASSFILE'))
        and k != 'DB_NAME'}
    env.update(extra)
    return env


def run(*command, env=None, timeout=600):
    "Run a venv console script; fail with its output when it fails"
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=ROOT,
        env=env or clean_environ(), timeout=timeout,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert result.returncode == 0, (
        f"{' '.join(command)} failed ({result.returncode}):\n"
        + result.stdout[-4000:])
    return result.stdout


def postgresql_admin(uri, sql):
    "Run one statement on the server's maintenance database"
    import psycopg
    from psycopg.conninfo import make_conninfo
    with psycopg.connect(make_conninfo(uri, dbname='postgres'),
            autocommit=True) as connection:
        connection.execute(sql)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write_config(path, *, uri, data_path, database, port, sms_log, pdd):
    """trytond.conf with our database, a free port, sao by absolute path
    and the PDD simulator pdd"""
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / 'trytond.conf', encoding='utf-8')
    config['database']['uri'] = uri
    config['database']['path'] = str(data_path)
    config['web']['listen'] = f'127.0.0.1:{port}'
    config['web']['root'] = str(SAO)
    config['duoduo']['database'] = database
    config['duoduo']['sms_log'] = str(sms_log)
    config['duoduo_pdd']['gateway_url'] = pdd.gateway_url
    config['duoduo_pdd']['authorize_url'] = pdd.authorize_url
    config['duoduo_pdd']['client_id'] = pdd.client_id
    config['duoduo_pdd']['client_secret'] = pdd.client_secret
    with open(path, 'w', encoding='utf-8') as file:
        config.write(file)


def build_demo_database(config_file, database, tmp):
    "What `make demo-db` does: create, activate duoduo_api in Chinese, load the demo"
    password_file = tmp / 'adminpass'
    password_file.write_text(secrets.token_urlsafe(32))
    run('trytond-admin', '-c', config_file, '-d', database, '--all',
        '--email', 'admin@example.com',
        env=clean_environ(TRYTONPASSFILE=str(password_file)))
    run('trytond-admin', '-c', config_file, '-d', database,
        '-u', 'duoduo_api', '--activate-dependencies', '-l', 'zh_CN')
    run('duoduo-demo-data', '-c', config_file, '-d', database)
    run('duoduo-demo-data', '-c', config_file, '-d', database, '--pdd')


@pytest.fixture(scope='module')
def pdd_simulator():
    "The PDD gateway the demo's PDD part and the server talk to"
    with PddSimulator(client_id='duoduo-demo',
            client_secret='duoduo-demo-secret') as simulator:
        yield simulator


@pytest.fixture(scope='module')
def demo_database(backend, tmp_path_factory, pdd_simulator):
    "(config file, database name, port) of a fresh database holding the demo"
    tmp = tmp_path_factory.mktemp('back-office')
    port = free_port()
    config_file = tmp / 'trytond.conf'
    if backend == 'postgresql':
        uri = os.environ['TRYTOND_DATABASE_URI']
        database = PG_DATABASE
        postgresql_admin(uri,
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        postgresql_admin(uri,
            f"CREATE DATABASE \"{database}\" ENCODING 'UTF8' TEMPLATE template0")
    else:
        uri = 'sqlite://'
        database = SQLITE_DATABASE
        (tmp / f'{database}.sqlite').touch()
    write_config(config_file, uri=uri, data_path=tmp, database=database,
        port=port, sms_log=tmp / 'sms.log', pdd=pdd_simulator)
    try:
        build_demo_database(config_file, database, tmp)
        yield config_file, database, port
    finally:
        if backend == 'postgresql':
            postgresql_admin(uri,
                f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# --- the server ----------------------------------------------------------

def wait_until_answering(url, process, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"trytond exited with {process.returncode}:\n"
                + log.read_text()[-4000:])
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"trytond did not answer on {url} within {timeout} s")


@pytest.fixture(scope='module')
def back_office_url(demo_database):
    "sao, served by a running trytond; stopped at the end"
    config_file, database, port = demo_database
    log = config_file.parent / 'trytond.log'
    with open(log, 'w') as output:
        process = subprocess.Popen(
            [str(BIN / 'trytond'), '-c', str(config_file), '-d', database],
            cwd=ROOT, env=clean_environ(),
            stdout=output, stderr=subprocess.STDOUT)
    try:
        url = f'http://127.0.0.1:{port}/'
        wait_until_answering(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the browser ---------------------------------------------------------

def require_chromium():
    "Fail, never skip, when the browser is missing"
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER)
        if not (p.is_file() and os.access(p, os.X_OK))]
    if missing:
        pytest.fail(
            f"missing {', '.join(missing)}: the back-office browser test "
            "needs Debian's chromium and chromedriver; run bin/ensure-chromium "
            "(apt-get install chromium chromium-driver)", pytrace=False)


def warn_without_chinese_font():
    "Without one the screenshot shows boxes for the members' names"
    if shutil.which('fc-list') and not subprocess.run(
            ['fc-list', ':lang=zh', 'family'], capture_output=True,
            text=True).stdout.strip():
        warnings.warn("no Chinese font installed: the screenshot will show "
            "boxes for Chinese text (apt-get install fonts-wqy-zenhei)")


@pytest.fixture
def browser(tmp_path):
    "Headless Debian Chromium; explicit paths so selenium-manager never runs"
    warn_without_chinese_font()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ('--headless', '--no-sandbox', '--disable-gpu',
            '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--window-size=1400,900',
            f'--user-data-dir={tmp_path / "chromium-profile"}'):
        options.add_argument(flag)
    # the page's console, read by console_errors()
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(
        service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver):
    "Up to WAIT seconds, riding over sao redrawing what we look at"
    from selenium.common.exceptions import (
        NoSuchElementException, StaleElementReferenceException)
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, WAIT, ignored_exceptions=(
            NoSuchElementException, StaleElementReferenceException))


def wait_or_none(driver, condition):
    "condition's value, or None once WAIT seconds passed without it"
    from selenium.common.exceptions import TimeoutException
    try:
        return wait(driver).until(condition)
    except TimeoutException:
        return None


def visible(xpath):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    return EC.visibility_of_element_located((By.XPATH, xpath))


def clickable(xpath):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    return EC.element_to_be_clickable((By.XPATH, xpath))


def text_is(*labels):
    "XPath test: the element's own text is one of labels"
    return '(' + ' or '.join(
        f"normalize-space(text())='{label}'" for label in labels) + ')'


def log_in(driver, url, database, login, password):
    "sao's login dialog: database and user name, then the password dialog"
    from selenium.webdriver.common.keys import Keys
    # The shipped trytond.conf lists no database ([database] list = False):
    # sao shows an empty text field once the server refused the list, and
    # staff type the name (submitting before that does nothing).
    driver.get(f'{url}#{database}')
    database_input = wait(driver).until(visible("//input[@id='database']"),
        "the login dialog has no database field")
    database_input.send_keys(database)
    login_input = wait(driver).until(visible("//input[@id='login']"),
        "the login dialog has no user name field")
    login_input.send_keys(login, Keys.ENTER)
    password_input = wait(driver).until(
        visible("//div[contains(@class,'modal')]//input[@type='password']"),
        f"sao did not ask the password of {login}")
    password_input.send_keys(password, Keys.ENTER)


def open_menu(driver, labels):
    "Click the entry of the left-hand menu that reads one of labels"
    wait(driver).until(clickable(
            f"//div[@id='menu']//*[{text_is(*labels)}]"),
        f"no menu entry reading {' or '.join(labels)} (wrong password?)"
        ).click()


def open_members_as_admin(driver, url, database):
    "Log in as the demo admin and open 多多客 › 会员"
    log_in(driver, url, database, 'admin', 'admin')
    open_menu(driver, DUODUO_MENU)
    open_menu(driver, MEMBERS_MENU)


def listed_nicknames(driver):
    "The demo nicknames shown in the cells of the open list"
    from selenium.webdriver.common.by import By
    cells = driver.find_elements(By.CSS_SELECTOR, '#tabcontent table td')
    return {cell.text.strip() for cell in cells
        if cell.is_displayed()} & DEMO_NICKNAMES


def wait_for_members_list(driver, nicknames):
    "The demo nicknames listed once nicknames are all there (or time is up)"
    def all_listed(driver):
        listed = listed_nicknames(driver)
        return listed if nicknames <= listed else False
    return wait_or_none(driver, all_listed) or listed_nicknames(driver)


def active_tab_count(driver):
    "The count sao shows on the list's selected filter tab (Active), or None"
    from selenium.webdriver.common.by import By
    badge = "#tabcontent .tab-domain li.active .badge"

    def counted(driver):
        text = driver.find_element(By.CSS_SELECTOR, badge).text.strip()
        return int(text) if text.isdigit() else False
    return wait_or_none(driver, counted)


def save_screenshot(driver, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))


# --- the test ------------------------------------------------------------

def test_staff_sees_demo_members_in_back_office(
        backend, demo_database, back_office_url, browser):
    _, database, _ = demo_database
    screenshot = ARTIFACTS / f'back-office-members-{backend}.png'
    try:
        open_members_as_admin(browser, back_office_url, database)
        listed = wait_for_members_list(browser, NEWEST_DEMO_NICKNAMES)
        count = active_tab_count(browser)
    finally:
        save_screenshot(browser, screenshot)
    assert NEWEST_DEMO_NICKNAMES <= listed, (
        f"{NEWEST_DEMO_NICKNAMES - listed} not in the Members list "
        f"(see {screenshot})")
    assert count == len(DEMO_MEMBERS), (
        f"the Active tab counts {count} members, the demo has "
        f"{len(DEMO_MEMBERS)} (see {screenshot})")


def search_list(driver, text):
    "Type text in the list's search bar, as staff look a member up"
    from selenium.webdriver.common.keys import Keys
    field = wait(driver).until(visible(
            "//div[@id='tabcontent']//input[@placeholder='查找' "
            "or @placeholder='Search']"), "the list has no search bar")
    field.send_keys(text, Keys.ENTER)


def open_record(driver, text):
    "Select the list row showing text and switch to the form"
    wait(driver).until(clickable(
            f"//div[@id='tabcontent']//table//td[normalize-space(.)='{text}']"),
        f"no row reading {text}").click()
    wait(driver).until(clickable(
            "//div[@id='tabcontent']//button[starts-with(@title, '切换') "
            "or starts-with(@title, 'Switch')]"),
        "no button to switch to the form").click()


def field_value(driver, name):
    "The value sao shows for the read-only field name of the open form"
    from selenium.webdriver.common.by import By

    def shown(driver):
        for element in driver.find_elements(
                By.CSS_SELECTOR, f'#tabcontent [name="{name}"]'):
            text = (element.get_attribute('value') or element.text).strip()
            if element.is_displayed() and text:
                return text
        return False
    return wait_or_none(driver, shown)


def test_staff_open_a_member_and_see_the_team(
        backend, demo_database, back_office_url, browser):
    _, database, _ = demo_database
    screenshot = ARTIFACTS / f'back-office-member-team-{backend}.png'
    try:
        open_members_as_admin(browser, back_office_url, database)
        search_list(browser, '张伟')
        open_record(browser, '张伟')
        wait(browser).until(clickable(
                f"//div[@id='tabcontent']//a[{text_is('团队', 'Team')}]"),
            "the member form has no Team page").click()
        sizes = [field_value(browser, name) for name in [
                'team_size_1', 'team_size_2', 'team_size_3', 'team_size']]
        buttons = {b.text.strip() for b in browser.find_elements(
                'css selector', '#tabcontent button') if b.is_displayed()}
    finally:
        save_screenshot(browser, screenshot)
    # 张伟 heads the demo's Binzhou tree: 2 partners, 5 and 6 below them,
    # and two more a fourth level down
    assert sizes == ['2', '5', '6', '15'], (
        f"team sizes shown {sizes} (see {screenshot})")
    assert {'禁用', '更换邀请人'} <= buttons or {
        'Disable', 'Change Referrer'} <= buttons, (
        f"buttons shown {buttons} (see {screenshot})")


def listed_cells(driver):
    "The text of the open list's visible cells"
    from selenium.webdriver.common.by import By
    return {cell.text.strip() for cell in driver.find_elements(
            By.CSS_SELECTOR, '#tabcontent table td') if cell.is_displayed()}


def test_staff_see_synced_pdd_orders(
        backend, demo_database, back_office_url, browser, pdd_simulator):
    _, database, _ = demo_database
    screenshot = ARTIFACTS / f'back-office-pdd-orders-{backend}.png'
    goods = {order['goods_name'] for order in pdd_simulator.orders.values()}
    assert goods, "the demo placed no order in the PDD simulator"
    try:
        log_in(browser, back_office_url, database, 'admin', 'admin')
        open_menu(browser, DUODUO_MENU)
        open_menu(browser, PDD_MENU)
        open_menu(browser, PDD_ORDERS_MENU)
        # the list opens on 已付款 (paid); the demo's orders are in every state
        wait(browser).until(clickable(
                f"//div[@id='tabcontent']//a[{text_is('全部', 'All')}]"),
            "the orders list has no All tab").click()
        listed = wait_or_none(browser,
            lambda driver: goods <= listed_cells(driver)
            and listed_cells(driver)) or listed_cells(browser)
    finally:
        save_screenshot(browser, screenshot)
    assert goods <= listed, (
        f"orders of {goods - listed} not in the PDD Orders list "
        f"(see {screenshot})")
    # attributed: the buyers' nicknames are in the Member column
    assert any(nickname in cell
            for cell in listed for nickname in DEMO_NICKNAMES), (
        f"no member shown on the orders (see {screenshot})")


def console_errors(driver):
    """The JavaScript errors the page logged since the last call (not the
    resources the login page misses: custom.css, locale files...)"""
    return [entry['message'] for entry in driver.get_log('browser')
        if entry['level'] == 'SEVERE'
        and entry.get('source') not in {'network', 'security'}
        and 'Failed to load resource' not in entry['message']
        and 'MIME type' not in entry['message']]


def test_staff_see_the_pids(
        backend, demo_database, back_office_url, browser, pdd_simulator):
    """The 推广位 list draws the demo's PIDs, banned ones in red, without a
    JavaScript error (a Python-text `visual` once left it empty)"""
    _, database, _ = demo_database
    screenshot = ARTIFACTS / f'back-office-pids-{backend}.png'
    pids = set(pdd_simulator.pids)
    assert pids, "the demo made no PID in the PDD simulator"
    try:
        log_in(browser, back_office_url, database, 'admin', 'admin')
        open_menu(browser, DUODUO_MENU)
        open_menu(browser, PDD_MENU)
        console_errors(browser)
        open_menu(browser, ('推广位', 'PIDs'))
        listed = wait_or_none(browser,
            lambda driver: pids & listed_cells(driver)
            and listed_cells(driver)) or listed_cells(browser)
        errors = console_errors(browser)
    finally:
        save_screenshot(browser, screenshot)
    assert not errors, f"JavaScript errors: {errors} (see {screenshot})"
    assert pids & listed, f"no PID in the 推广位 list (see {screenshot})"


def test_operator_tests_the_pdd_connection(
        backend, demo_database, back_office_url, browser, pdd_simulator):
    "PDD Settings › Test Connection reaches PDD and shows its answer"
    _, database, _ = demo_database
    screenshot = ARTIFACTS / f'back-office-pdd-settings-{backend}.png'
    calls_before = len(pdd_simulator.calls('pdd.goods.opt.get'))
    try:
        log_in(browser, back_office_url, database, 'admin', 'admin')
        open_menu(browser, DUODUO_MENU)
        open_menu(browser, ('配置', 'Configuration'))
        open_menu(browser, ('拼多多设置', 'PDD Settings'))
        wait(browser).until(clickable(
                "//div[@id='tabcontent']//button[normalize-space(.)='测试连接' "
                "or normalize-space(.)='Test Connection']"),
            "the PDD settings have no Test Connection button").click()
        result = field_value(browser, 'last_test_result')
        secret = field_value(browser, 'client_secret_masked')
    finally:
        save_screenshot(browser, screenshot)
    assert result and ('连接成功' in result or 'Connected' in result), (
        f"Test Connection showed {result!r} (see {screenshot})")
    assert len(pdd_simulator.calls('pdd.goods.opt.get')) > calls_before
    # the secret is never sent to the browser, only its last characters
    assert secret and pdd_simulator.client_secret not in secret, secret


def test_finance_simulates_a_plan_in_a_wizard(
        backend, demo_database, back_office_url, browser):
    """佣金 › 分佣方案 › 模拟方案 opens the wizard; its result, a form with
    a list of members (ModelView lines), shows the demo's buyers"""
    from selenium.webdriver.common.by import By
    _, database, _ = demo_database
    screenshot = ARTIFACTS / f'back-office-simulate-plan-{backend}.png'
    modal = "//div[contains(@class,'modal-dialog')]"

    def modal_cells(driver):
        return {cell.text.strip() for cell in driver.find_elements(
                By.XPATH, f"{modal}//table//td") if cell.is_displayed()}

    try:
        log_in(browser, back_office_url, database, 'admin', 'admin')
        open_menu(browser, DUODUO_MENU)
        open_menu(browser, ('佣金', 'Commission'))
        open_menu(browser, ('分佣方案', 'Commission Plans'))
        open_menu(browser, ('模拟方案', 'Simulate Plan'))
        # the version created last and this month are filled in
        wait(browser).until(clickable(
                f"{modal}//button[normalize-space(.)='模拟' "
                "or normalize-space(.)='Simulate']"),
            "the wizard has no Simulate button").click()
        wait(browser).until(visible(
                f"{modal}//button[normalize-space(.)='修改条件' "
                "or normalize-space(.)='Change']"),
            "the wizard did not show its result")
        # members read "nickname (masked phone)"
        listed = wait_or_none(browser, lambda driver: {
                nickname for cell in modal_cells(driver)
                for nickname in DEMO_NICKNAMES
                if cell.startswith(f'{nickname} (')}) or set()
        orders = None
        for element in browser.find_elements(
                By.XPATH, f"{modal}//*[@name='order_count']"):
            text = (element.get_attribute('value') or element.text).strip()
            if element.is_displayed() and text:
                orders = text
    finally:
        save_screenshot(browser, screenshot)
    assert listed, f"no demo member in the simulation's list (see {screenshot})"
    assert orders and int(orders) > 0, (
        f"the simulation counted {orders!r} orders (see {screenshot})")
